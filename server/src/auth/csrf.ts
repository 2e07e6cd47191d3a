/**
 * CSRF protection for cookie-authenticated requests that change state: a
 * synchronizer token kept in the session (csrf-sync), sent back by the web UI
 * in the X-CSRF-Token header. Anonymous writes (sign-in, first-run setup) have
 * no session to ride on; for those, and as a second layer for everything, a
 * browser's cross-site request is refused by its Origin / Sec-Fetch-Site.
 */
import { isIP } from 'node:net';
import type { Request, RequestHandler } from 'express';
import { csrfSync } from 'csrf-sync';
import { ForbiddenError } from '../errors/app-error';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
export const CSRF_HEADER = 'x-csrf-token';

export interface Csrf {
  protect: RequestHandler;
  tokenFor(req: Request): string;
}

/**
 * A host no DNS answer can stand for: an IP address or localhost. A page reached through a name of
 * its own (DNS rebinding: attacker.example answering with this server's address) sends that name as
 * both Host and Origin, so a match between the two proves nothing unless the name cannot be rebound.
 */
function isLiteralHost(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  return name === 'localhost' || isIP(name) !== 0;
}

function sameOrigin(req: Request, publicUrl: string): boolean {
  if (req.get('sec-fetch-site') === 'cross-site') return false;
  const origin = req.get('origin');
  if (!origin || origin === 'null') return origin === undefined;
  if (origin === new URL(publicUrl).origin) return true;
  // Reached by the server's address rather than PUBLIC_URL (a LAN IP on a homelab box): its own origin.
  const host = req.get('host') ?? '';
  return isLiteralHost(host) && origin === `${req.protocol}://${host}`;
}

export function createCsrf(publicUrl: string): Csrf {
  const { generateToken, isRequestValid } = csrfSync({ getTokenFromRequest: (req) => req.get(CSRF_HEADER) });
  const protect: RequestHandler = (req, _res, next) => {
    if (SAFE_METHODS.has(req.method)) return next();
    if (!sameOrigin(req, publicUrl)) throw new ForbiddenError('Cross-site request refused.', 'csrf_invalid');
    if (req.isAuthenticated() && !isRequestValid(req)) {
      throw new ForbiddenError('Missing or wrong CSRF token; reload the page and try again.', 'csrf_invalid');
    }
    next();
  };
  return { protect, tokenFor: (req) => generateToken(req) };
}
