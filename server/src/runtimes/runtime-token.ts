/**
 * The token each runtime calls the model endpoint with (its OpenClaw settings carry it), made at every
 * create. The platform keeps only its hash: the runtime manager stores it, the model gateway looks the
 * caller up by it, so both must hash the same way, here.
 */
import { createHash, randomBytes } from 'node:crypto';

export function newRuntimeToken(): string {
  return `ccrt_${randomBytes(32).toString('base64url')}`;
}

export function runtimeTokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
