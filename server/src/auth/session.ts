/**
 * Cookie sessions kept server-side in SQLite. The cookie is HttpOnly and
 * SameSite=Lax, and Secure whenever the request arrived over https, which
 * behind a proxy is only believed when TRUST_PROXY says so.
 *
 * When Traefik does HTTPS itself (CREWCLAW_TLS on), every request the browser
 * makes is https, and the cookie takes the `__Host-` prefix: browsers then refuse
 * a cookie of that name set with a Domain, so a page on a runtime's own host name
 * (per-user hosts, proxy/runtime-address.ts) cannot plant a session for the
 * platform. It does not help against the same host name's other port (the path
 * layout's runtime origin): cookies ignore ports, and that page may set a
 * `__Host-` cookie for its own host, which is the platform's (tossed-cookies.ts
 * is the defence there).
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

export function createSessionMiddleware(options: { cookieName: string; httpsOnly: boolean; secret: string; ttlHours: number; sessions: SessionRepository; events: SessionEvents }): {
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
    // With HTTPS on, Traefik answers plain HTTP with a redirect only, so whatever reaches us came over
    // https: Secure always (a __Host- cookie without it is dropped by browsers), whatever the peer says.
    cookie: { httpOnly: true, sameSite: 'lax', secure: options.httpsOnly ? true : 'auto', maxAge: ttlMs, path: '/' },
    ...(options.httpsOnly ? { proxy: true } : {}),
  });
  return { middleware, store };
}
