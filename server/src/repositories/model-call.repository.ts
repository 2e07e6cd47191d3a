/** The metered model calls (db/model-calls.table.ts): what was spent, and usage by day for the usage pages. */
import { and, desc, eq, gte, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { modelCalls } from '../db/schema';

export type ModelCallRecord = typeof modelCalls.$inferSelect;
export type NewModelCall = typeof modelCalls.$inferInsert;

export interface Spend {
  requests: number;
  tokens: number;
  costUsd: number;
}

export interface UsageRow {
  day: string;
  userId: number | null;
  username: string;
  model: string;
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  costUsd: number;
}

// started_at is in milliseconds; days are UTC.
const day = sql<string>`strftime('%Y-%m-%d', ${modelCalls.startedAt} / 1000, 'unixepoch')`;

function prepareSpendQuery(db: Db) {
  return db
    .select({
      requests: sql<number>`count(*)`,
      tokens: sql<number>`coalesce(sum(${modelCalls.promptTokens} + ${modelCalls.completionTokens}), 0)`,
      costUsd: sql<number>`coalesce(sum(${modelCalls.costUsd}), 0)`,
    })
    .from(modelCalls)
    .where(and(eq(modelCalls.userId, sql.placeholder('userId')), gte(modelCalls.startedAt, sql.placeholder('since'))))
    .prepare();
}

// Every model call writes one row: prepared once, not built and parsed again each time.
const INSERT_COLUMNS = ['userId', 'username', 'model', 'stream', 'startedAt', 'latencyMs', 'outcome', 'httpStatus', 'promptTokens', 'completionTokens', 'cachedTokens', 'costUsd'] as const;

function prepareInsert(db: Db) {
  return db
    .insert(modelCalls)
    .values(Object.fromEntries(INSERT_COLUMNS.map((column) => [column, sql.placeholder(column)])) as unknown as NewModelCall)
    .prepare();
}

export class ModelCallRepository {
  private readonly spendQuery: ReturnType<typeof prepareSpendQuery>;
  private readonly insertStatement: ReturnType<typeof prepareInsert>;

  constructor(private readonly db: Db) {
    this.spendQuery = prepareSpendQuery(db);
    this.insertStatement = prepareInsert(db);
  }

  insert(call: NewModelCall): void {
    this.insertStatement.run({
      userId: call.userId ?? null,
      username: call.username,
      model: call.model,
      stream: call.stream,
      startedAt: call.startedAt,
      latencyMs: call.latencyMs,
      outcome: call.outcome,
      httpStatus: call.httpStatus,
      promptTokens: call.promptTokens ?? 0,
      completionTokens: call.completionTokens ?? 0,
      cachedTokens: call.cachedTokens ?? 0,
      costUsd: call.costUsd ?? null,
    });
  }

  /** Newest first, for the tests and the usage pages to come. */
  recentForUser(userId: number, limit = 50): ModelCallRecord[] {
    return this.db.select().from(modelCalls).where(eq(modelCalls.userId, userId)).orderBy(desc(modelCalls.id)).limit(limit).all();
  }

  /** What a user's calls started since `since` spent (the budgets' measure). */
  spentSince(userId: number, since: Date): Spend {
    return this.spendQuery.get({ userId, since: since.getTime() }) ?? { requests: 0, tokens: 0, costUsd: 0 };
  }

  /** Calls grouped by UTC day, user and model, for calls started in [from, to); one user's or everyone's. */
  usageByDay(from: Date, to: Date, userId?: number): UsageRow[] {
    return this.db
      .select({
        day,
        userId: modelCalls.userId,
        username: modelCalls.username,
        model: modelCalls.model,
        requests: sql<number>`count(*)`,
        errors: sql<number>`sum(case when ${modelCalls.outcome} = 'ok' then 0 else 1 end)`,
        promptTokens: sql<number>`sum(${modelCalls.promptTokens})`,
        completionTokens: sql<number>`sum(${modelCalls.completionTokens})`,
        cachedTokens: sql<number>`sum(${modelCalls.cachedTokens})`,
        costUsd: sql<number>`coalesce(sum(${modelCalls.costUsd}), 0)`,
      })
      .from(modelCalls)
      .where(and(gte(modelCalls.startedAt, from), lt(modelCalls.startedAt, to), userId === undefined ? undefined : eq(modelCalls.userId, userId)))
      .groupBy(day, modelCalls.userId, modelCalls.username, modelCalls.model)
      .orderBy(day, modelCalls.username, modelCalls.model)
      .all();
  }
}
