/**
 * Cookie sessions kept server-side in SQLite. The cookie is HttpOnly and
 * SameSite=Lax, and Secure whenever the request arrived over https, which
 * behind a proxy is only believed when TRUST_PROXY says so.
 */
import type { RequestHandler } from 'express';
import session from 'express-session';
import type { SessionRepository } from '../repositories/session.repository';
import type { SessionEvents } from '../services/session-events';
import { SqliteSessionStore } from './session-store';

export const SESSION_COOKIE = 'crewclaw.sid';

export function createSessionMiddleware(options: { secret: string; ttlHours: number; sessions: SessionRepository; events: SessionEvents }): {
  middleware: RequestHandler;
  store: SqliteSessionStore;
} {
  const ttlMs = options.ttlHours * 3_600_000;
  const store = new SqliteSessionStore(options.sessions, ttlMs, options.events);
  const middleware = session({
    name: SESSION_COOKIE,
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
