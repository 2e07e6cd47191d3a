/** Server-side session rows behind the express-session store. */
import { and, eq, gt, lt, lte, ne, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { runtimeHostSessions, sessions } from '../db/schema';

// find and touch run on every signed-in request: prepared once, not rebuilt and re-parsed each time.
function prepareHotQueries(db: Db) {
  return {
    find: db
      .select({ data: sessions.data })
      .from(sessions)
      .where(and(eq(sessions.sid, sql.placeholder('sid')), gt(sessions.expiresAt, sql.placeholder('now'))))
      .prepare(),
    touch: db
      .update(sessions)
      .set({ expiresAt: sql`${sql.placeholder('expiresAt')}` })
      .where(and(eq(sessions.sid, sql.placeholder('sid')), lt(sessions.expiresAt, sql.placeholder('movedBefore'))))
      .prepare(),
  };
}

export class SessionRepository {
  private readonly hot: ReturnType<typeof prepareHotQueries>;

  constructor(private readonly db: Db) {
    this.hot = prepareHotQueries(db);
  }

  /** The session's serialized data, unless it is missing or expired. */
  find(sid: string, now = new Date()): string | undefined {
    return this.hot.find.get({ sid, now: now.getTime() })?.data;
  }

  save(sid: string, userId: number | null, data: string, expiresAt: Date): void {
    this.db
      .insert(sessions)
      .values({ sid, userId, data, expiresAt })
      .onConflictDoUpdate({ target: sessions.sid, set: { userId, data, expiresAt } })
      .run();
  }

  /** Moves the expiry out, skipping the write when it would move less than `minStepMs`. */
  touch(sid: string, expiresAt: Date, minStepMs = 0): void {
    this.hot.touch.run({ sid, expiresAt: expiresAt.getTime(), movedBefore: expiresAt.getTime() - minStepMs });
  }

  delete(sid: string): void {
    this.db.delete(sessions).where(eq(sessions.sid, sid)).run();
  }

  /** Ends every session of a user, except optionally the one making the request. */
  deleteForUser(userId: number, exceptSid?: string): number {
    const condition = exceptSid ? and(eq(sessions.userId, userId), ne(sessions.sid, exceptSid)) : eq(sessions.userId, userId);
    return this.db.delete(sessions).where(condition).run().changes;
  }

  /**
   * Ends the runtime-host sign-ins made from a session (services/runtime-handoff.ts) while the session
   * itself goes on: after a password change, whoever holds one of those cookies loses it.
   */
  endRuntimeHostSignIns(sid: string): number {
    return this.db.delete(runtimeHostSessions).where(eq(runtimeHostSessions.sessionId, sid)).run().changes;
  }

  deleteExpired(now = new Date()): number {
    return this.db.delete(sessions).where(lte(sessions.expiresAt, now)).run().changes;
  }
}
