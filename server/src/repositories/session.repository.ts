/** Server-side session rows behind the express-session store. */
import { and, eq, gt, lt, lte, ne } from 'drizzle-orm';
import type { Db } from '../db/client';
import { sessions } from '../db/schema';

export class SessionRepository {
  constructor(private readonly db: Db) {}

  /** The session's serialized data, unless it is missing or expired. */
  find(sid: string, now = new Date()): string | undefined {
    return this.db
      .select({ data: sessions.data })
      .from(sessions)
      .where(and(eq(sessions.sid, sid), gt(sessions.expiresAt, now)))
      .get()?.data;
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
    this.db
      .update(sessions)
      .set({ expiresAt })
      .where(and(eq(sessions.sid, sid), lt(sessions.expiresAt, new Date(expiresAt.getTime() - minStepMs))))
      .run();
  }

  delete(sid: string): void {
    this.db.delete(sessions).where(eq(sessions.sid, sid)).run();
  }

  /** Ends every session of a user, except optionally the one making the request. */
  deleteForUser(userId: number, exceptSid?: string): number {
    const condition = exceptSid ? and(eq(sessions.userId, userId), ne(sessions.sid, exceptSid)) : eq(sessions.userId, userId);
    return this.db.delete(sessions).where(condition).run().changes;
  }

  deleteExpired(now = new Date()): number {
    return this.db.delete(sessions).where(lte(sessions.expiresAt, now)).run().changes;
  }
}
