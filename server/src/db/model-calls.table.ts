import { index, integer, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { users } from './users.table';

export const MODEL_CALL_OUTCOMES = ['ok', 'error', 'cut_off', 'client_gone'] as const;

/**
 * Every call a runtime made to the model endpoint (/v1), metered by the control plane: who, which model,
 * tokens, what it cost where LiteLLM knows the price, how long it took and how it ended. The row stays
 * when its user is deleted (what was spent was spent); the name is kept for that.
 */
export const modelCalls = sqliteTable(
  'model_calls',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id').references(() => users.id, { onDelete: 'set null' }),
    username: text('username').notNull(),
    model: text('model').notNull(),
    stream: integer('stream', { mode: 'boolean' }).notNull(),
    startedAt: integer('started_at', { mode: 'timestamp_ms' }).notNull(),
    latencyMs: integer('latency_ms').notNull(),
    outcome: text('outcome', { enum: MODEL_CALL_OUTCOMES }).notNull(),
    httpStatus: integer('http_status').notNull(),
    promptTokens: integer('prompt_tokens').notNull().default(0),
    completionTokens: integer('completion_tokens').notNull().default(0),
    cachedTokens: integer('cached_tokens').notNull().default(0),
    costUsd: real('cost_usd'),
  },
  (table) => [index('model_calls_user_started_idx').on(table.userId, table.startedAt), index('model_calls_started_idx').on(table.startedAt)],
);
