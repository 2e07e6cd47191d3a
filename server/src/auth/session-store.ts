/**
 * express-session store on the platform's SQLite database. The user id is
 * lifted out of passport's session data into its own column, so disabling a
 * user can end all of their sessions with one delete. A session destroyed here
 * (sign-out, or the old one replaced at sign-in) is told to whatever holds it open.
 */
import session from 'express-session';
import type { SessionRepository } from '../repositories/session.repository';
import type { SessionEvents } from '../services/session-events';

type Callback<T = void> = (error?: unknown, value?: T) => void;

interface PassportSessionData {
  passport?: { user?: unknown };
}

/** Don't rewrite a row on every request just to push its expiry out by seconds. */
const TOUCH_INTERVAL_MS = 60_000;
/** Bounds the memory of recent touches; past it the map starts over (costing one write per session). */
const MAX_REMEMBERED_TOUCHES = 10_000;

export class SqliteSessionStore extends session.Store {
  private readonly sweeper: NodeJS.Timeout;
  /** sid -> expiry last written, so most requests skip the database entirely on touch. */
  private readonly lastTouch = new Map<string, number>();

  constructor(
    private readonly sessions: SessionRepository,
    private readonly ttlMs: number,
    private readonly events: SessionEvents,
  ) {
    super();
    this.sweeper = setInterval(() => this.sessions.deleteExpired(), 15 * 60_000);
    this.sweeper.unref();
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private expiry(data: session.SessionData): Date {
    const cookieExpiry = data.cookie?.expires ? new Date(data.cookie.expires).getTime() : Number.NaN;
    return new Date(Number.isFinite(cookieExpiry) ? cookieExpiry : Date.now() + this.ttlMs);
  }

  override get(sid: string, callback: Callback<session.SessionData | null>): void {
    this.settle(callback, () => {
      const data = this.sessions.find(sid);
      return data === undefined ? null : (JSON.parse(data) as session.SessionData);
    });
  }

  override set(sid: string, data: session.SessionData, callback?: Callback): void {
    this.settle(callback, () => {
      const userId = (data as PassportSessionData).passport?.user;
      this.sessions.save(sid, typeof userId === 'number' ? userId : null, JSON.stringify(data), this.expiry(data));
    });
  }

  override touch(sid: string, data: session.SessionData, callback?: Callback): void {
    this.settle(callback, () => {
      const expiresAt = this.expiry(data).getTime();
      if (expiresAt - (this.lastTouch.get(sid) ?? 0) < TOUCH_INTERVAL_MS) return;
      if (this.lastTouch.size >= MAX_REMEMBERED_TOUCHES) this.lastTouch.clear();
      this.lastTouch.set(sid, expiresAt);
      this.sessions.touch(sid, new Date(expiresAt), TOUCH_INTERVAL_MS);
    });
  }

  override destroy(sid: string, callback?: Callback): void {
    this.lastTouch.delete(sid);
    this.settle(callback, () => {
      this.sessions.delete(sid);
      this.events.ended({ sessionId: sid });
    });
  }

  private settle<T>(callback: Callback<T> | undefined, work: () => T): void {
    let value: T;
    try {
      value = work();
    } catch (error) {
      callback?.(error);
      return;
    }
    callback?.(undefined, value);
  }
}
