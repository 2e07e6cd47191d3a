/**
 * Redacts secrets from runtime log text before a user or admin sees it: the
 * runtime's own model token, bearer tokens, and key-like values.
 */
import { Transform } from 'node:stream';

const PATTERNS: RegExp[] = [
  /(authorization["']?\s*[:=]\s*["']?bearer\s+)[^\s"',]+/gi,
  /(bearer\s+)[A-Za-z0-9._~+/=-]{12,}/gi,
  /((?:api[-_]?key|token|secret|password)["']?\s*[:=]\s*["']?)[^\s"',}]+/gi,
  /()\bsk-[A-Za-z0-9_-]{12,}/g,
];

export function redactLogText(text: string, secrets: string[] = []): string {
  let result = text;
  for (const secret of secrets) if (secret.length >= 8) result = result.split(secret).join('[redacted]');
  for (const pattern of PATTERNS) result = result.replace(pattern, '$1[redacted]');
  return result;
}

/** Line-aware so a secret split across two chunks is still caught. */
export function redactingStream(secrets: string[] = []): Transform {
  let pending = '';
  return new Transform({
    transform(chunk: Buffer | string, _encoding, callback) {
      pending += chunk.toString();
      const lastNewline = pending.lastIndexOf('\n');
      if (lastNewline === -1) return callback();
      const complete = pending.slice(0, lastNewline + 1);
      pending = pending.slice(lastNewline + 1);
      callback(null, redactLogText(complete, secrets));
    },
    flush(callback) {
      callback(null, pending ? redactLogText(pending, secrets) : undefined);
    },
  });
}
