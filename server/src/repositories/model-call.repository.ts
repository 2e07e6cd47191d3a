/** The metered model calls (db/model-calls.table.ts). */
import { desc, eq } from 'drizzle-orm';
import type { Db } from '../db/client';
import { modelCalls } from '../db/schema';

export type ModelCallRecord = typeof modelCalls.$inferSelect;
export type NewModelCall = typeof modelCalls.$inferInsert;

export class ModelCallRepository {
  constructor(private readonly db: Db) {}

  insert(call: NewModelCall): void {
    this.db.insert(modelCalls).values(call).run();
  }

  /** Newest first, for the tests and the usage pages to come. */
  recentForUser(userId: number, limit = 50): ModelCallRecord[] {
    return this.db.select().from(modelCalls).where(eq(modelCalls.userId, userId)).orderBy(desc(modelCalls.id)).limit(limit).all();
  }
}
