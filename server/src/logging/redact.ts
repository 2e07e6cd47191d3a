/**
 * Keeps secrets out of logs. Anything under a key that names a password, token,
 * secret, cookie, session or Authorization header is replaced, however deep.
 */
import { types } from 'node:util';

export const REDACTED = '[redacted]';

const SENSITIVE_KEY = /pass(word)?|secret|token|cookie|authorization|api[-_]?key|session|credential/i;

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}

export function redact(value: unknown, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redact(item, seen));
  // isNativeError also knows errors from other realms (native addons, vm contexts).
  if (value instanceof Error || types.isNativeError(value)) {
    return { name: value.name, message: value.message, stack: value.stack };
  }
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    copy[key] = isSensitiveKey(key) ? REDACTED : redact(item, seen);
  }
  return copy;
}

/**
 * Query parameters that carry a secret in a URL only: the one-time code a runtime host is signed in with
 * (services/runtime-handoff.ts). Not a sensitive key elsewhere: error objects have a `code` too.
 */
const SENSITIVE_URL_PARAM = /^code$/i;
/** Parameters whose value is itself an address, whose own query may carry a secret (`next=/u/a/x?token=...`). */
const NESTED_URL_PARAM = /^next$/i;

/** Redacts sensitive query parameters, so a logged URL never carries a token. */
export function redactUrl(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart === -1) return url;
  const params = new URLSearchParams(url.slice(queryStart + 1));
  for (const [key, value] of [...params.entries()]) {
    if (isSensitiveKey(key) || SENSITIVE_URL_PARAM.test(key)) params.set(key, REDACTED);
    else if (NESTED_URL_PARAM.test(key) && value.includes('?')) params.set(key, redactUrl(value));
  }
  return `${url.slice(0, queryStart)}?${params.toString()}`;
}
