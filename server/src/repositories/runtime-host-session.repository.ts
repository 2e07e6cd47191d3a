/** Sign-ins on runtime hosts (db/runtime-host-sessions.table.ts), looked up on every request to one. */
import { and, eq, gt, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { runtimeHostSessions, sessions, users } from '../db/schema';

export interface RuntimeHostVisitor {
  id: number;
  username: string;
  role: 'admin' | 'user';
  /** The platform session it was made from. */
  sessionId: string;
}

function prepareVisitorQuery(db: Db) {
  return db
    .select({ id: users.id, username: users.username, role: users.role, sessionId: sessions.sid })
    .from(runtimeHostSessions)
    .innerJoin(sessions, eq(sessions.sid, runtimeHostSessions.sessionId))
    .innerJoin(users, eq(users.id, runtimeHostSessions.userId))
    .where(
      and(
        eq(runtimeHostSessions.tokenHash, sql.placeholder('tokenHash')),
        gt(sessions.expiresAt, sql.placeholder('now')),
        // However much it is used, a sign-in lasts one session lifetime from when it was made.
        gt(runtimeHostSessions.createdAt, sql.placeholder('madeAfter')),
        // The platform session must still be this user's (a sign-in reuses no session, but be sure).
        eq(sessions.userId, runtimeHostSessions.userId),
        eq(users.disabled, false),
      ),
    )
    .prepare();
}

export class RuntimeHostSessionRepository {
  private readonly visitorQuery: ReturnType<typeof prepareVisitorQuery>;

  constructor(private readonly db: Db) {
    this.visitorQuery = prepareVisitorQuery(db);
  }

  /** A new sign-in for a session, replacing the ones made from it before (one browser, one host cookie). */
  replace(row: { tokenHash: string; sessionId: string; userId: number; createdAt: Date }): void {
    this.db.transaction((tx) => {
      tx.delete(runtimeHostSessions).where(eq(runtimeHostSessions.sessionId, row.sessionId)).run();
      tx.insert(runtimeHostSessions).values(row).run();
    });
  }

  /** Who holds the token, while its platform session lasts, it is younger than `maxAgeMs` and its user may sign in. */
  visitor(tokenHash: string, maxAgeMs: number, now = new Date()): RuntimeHostVisitor | undefined {
    return this.visitorQuery.get({ tokenHash, now: now.getTime(), madeAfter: now.getTime() - maxAgeMs });
  }
}
