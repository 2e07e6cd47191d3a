/** Runtime rows: the platform's side of each user's runtime (Docker holds the rest). */
import { and, eq, isNotNull, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { runtimes, users, type RUNTIME_STATES } from '../db/schema';

export type RuntimeState = (typeof RUNTIME_STATES)[number];
export type RuntimeRecord = typeof runtimes.$inferSelect;
export type RuntimePatch = Partial<Omit<RuntimeRecord, 'userId' | 'updatedAt'>>;

export class RuntimeRepository {
  // Every state read (the user's card, forward-auth, the admin list) looks a row up by user: prepared
  // once, since the query builder has SQLite prepare it again on every call.
  private readonly byUserId;
  // Every model call (/v1) authenticates by its runtime's token.
  private readonly byTokenHash;

  constructor(private readonly db: Db) {
    this.byUserId = db.select().from(runtimes).where(eq(runtimes.userId, sql.placeholder('userId'))).prepare();
    this.byTokenHash = db
      .select({ id: users.id, username: users.username })
      .from(runtimes)
      .innerJoin(users, eq(users.id, runtimes.userId))
      .where(and(eq(runtimes.tokenHash, sql.placeholder('tokenHash')), eq(users.disabled, false)))
      .prepare();
  }

  /** The owner of the runtime whose model token hashes to `tokenHash`, unless that user is disabled. */
  ownerOfToken(tokenHash: string): { id: number; username: string } | undefined {
    return this.byTokenHash.get({ tokenHash });
  }

  find(userId: number): RuntimeRecord | undefined {
    return this.byUserId.get({ userId });
  }

  findByUsername(username: string): RuntimeRecord | undefined {
    return this.db
      .select({ runtime: runtimes })
      .from(runtimes)
      .innerJoin(users, eq(users.id, runtimes.userId))
      .where(eq(users.username, username))
      .get()?.runtime;
  }

  list(): RuntimeRecord[] {
    return this.db.select().from(runtimes).all();
  }

  /** How many runtime rows are in each state (a state no row is in is left out): one query, for the metrics. */
  countByState(): { state: RuntimeState; count: number }[] {
    return this.db.select({ state: runtimes.state, count: sql<number>`count(*)` }).from(runtimes).groupBy(runtimes.state).all();
  }

  /** Every runtime row with its user's name. */
  listWithOwners(): { runtime: RuntimeRecord; username: string }[] {
    return this.db.select({ runtime: runtimes, username: users.username }).from(runtimes).innerJoin(users, eq(users.id, runtimes.userId)).all();
  }

  /**
   * The row for a user, created with the lowest free subnet index on first use, atomically.
   * `avoid` lists indexes found taken on the host by networks this platform does not know: the
   * user's current index is replaced when it is among them.
   */
  ensure(userId: number, capacity: number, avoid: ReadonlySet<number> = new Set()): RuntimeRecord {
    return this.db.transaction(
      (tx) => {
        const existing = tx.select().from(runtimes).where(eq(runtimes.userId, userId)).get();
        if (existing?.subnetIndex != null && !avoid.has(existing.subnetIndex)) return existing;
        const taken = new Set(
          tx
            .select({ index: runtimes.subnetIndex })
            .from(runtimes)
            .where(isNotNull(runtimes.subnetIndex))
            .all()
            .map((row) => row.index),
        );
        let subnetIndex = 0;
        while (taken.has(subnetIndex) || avoid.has(subnetIndex)) subnetIndex += 1;
        if (subnetIndex >= capacity) throw new Error(`RUNTIME_SUBNET_POOL is full (${capacity} networks)`);
        const now = new Date();
        return tx
          .insert(runtimes)
          .values({ userId, subnetIndex, updatedAt: now })
          .onConflictDoUpdate({ target: runtimes.userId, set: { subnetIndex, updatedAt: now } })
          .returning()
          .get();
      },
      { behavior: 'immediate' },
    );
  }

  update(userId: number, patch: RuntimePatch): RuntimeRecord | undefined {
    return this.db
      .update(runtimes)
      .set({ ...patch, updatedAt: new Date() })
      .where(eq(runtimes.userId, userId))
      .returning()
      .get();
  }

  /** Runtimes the platform believes running whose last use is older than `before`. */
  listIdle(before: Date): { id: number; username: string }[] {
    return this.db
      .select({ id: users.id, username: users.username })
      .from(runtimes)
      .innerJoin(users, eq(users.id, runtimes.userId))
      .where(and(eq(runtimes.state, 'running'), lt(runtimes.lastActivityAt, before)))
      .all();
  }

  delete(userId: number): void {
    this.db.delete(runtimes).where(eq(runtimes.userId, userId)).run();
  }
}
