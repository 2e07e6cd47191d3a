/**
 * Cookie sessions kept server-side in SQLite. The cookie is HttpOnly and
 * SameSite=Lax, and Secure whenever the request arrived over https, which
 * behind a proxy is only believed when TRUST_PROXY says so.
 *
 * When Traefik does HTTPS itself (CREWCLAW_TLS on), every request the browser
 * makes is https, and the cookie takes the `__Host-` prefix: browsers then refuse
 * any cookie of that name that another host (a runtime's, on a sibling name or
 * the same name's other port) tries to set, with a Domain or without Secure, so
 * no page a runtime serves can plant a session for the platform.
 */
import type { RequestHandler } from 'express';
import session from 'express-session';
import type { SessionRepository } from '../repositories/session.repository';
import type { SessionEvents } from '../services/session-events';
import { SqliteSessionStore } from './session-store';

export const SESSION_COOKIE = 'crewclaw.sid';

/** The session cookie's name: with the `__Host-` prefix when every request is https (see above). */
export function sessionCookieName({ httpsOnly }: { httpsOnly: boolean }): string {
  return httpsOnly ? `__Host-${SESSION_COOKIE}` : SESSION_COOKIE;
}

export function createSessionMiddleware(options: { cookieName: string; secret: string; ttlHours: number; sessions: SessionRepository; events: SessionEvents }): {
  middleware: RequestHandler;
  store: SqliteSessionStore;
} {
  const ttlMs = options.ttlHours * 3_600_000;
  const store = new SqliteSessionStore(options.sessions, ttlMs, options.events);
  const middleware = session({
    name: options.cookieName,
    secret: options.secret,
    store,
    resave: false,
    saveUninitialized: false,
    // Each response pushes the expiry out: the TTL counts from the last activity.
    rolling: true,
    cookie: { httpOnly: true, sameSite: 'lax', secure: 'auto', maxAge: ttlMs, path: '/' },
  });
  return { middleware, store };
}
