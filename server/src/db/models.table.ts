import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { PROVIDER_KINDS } from '../models/provider-kinds';
import { users } from './users.table';

export { PROVIDER_KINDS };
export const MODEL_ACCESS = ['everyone', 'admins', 'listed'] as const;

/**
 * Model providers an admin set up. Their keys are not here: a key typed in the web UI is written only
 * into LiteLLM's configuration (models/litellm-config.ts); `keyHint` (its last four characters) is what
 * the admin sees of it again.
 */
export const modelProviders = sqliteTable(
  'model_providers',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    name: text('name').notNull(),
    kind: text('kind', { enum: PROVIDER_KINDS }).notNull(),
    baseUrl: text('base_url'),
    keyHint: text('key_hint'),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (table) => [uniqueIndex('model_providers_name_idx').on(table.name)],
);

/** The models users are offered: the name they see and call, and what it is at its provider. */
export const models = sqliteTable(
  'models',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    name: text('name').notNull(),
    providerId: integer('provider_id')
      .notNull()
      .references(() => modelProviders.id, { onDelete: 'restrict' }),
    upstreamModel: text('upstream_model').notNull(),
    contextWindow: integer('context_window').notNull(),
    maxTokens: integer('max_tokens').notNull(),
    inputPricePerMTok: real('input_price_per_mtok'),
    outputPricePerMTok: real('output_price_per_mtok'),
    enabled: integer('enabled', { mode: 'boolean' }).notNull(),
    isDefault: integer('is_default', { mode: 'boolean' }).notNull(),
    access: text('access', { enum: MODEL_ACCESS }).notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (table) => [uniqueIndex('models_name_idx').on(table.name), index('models_provider_idx').on(table.providerId)],
);

/** Who may use a model whose access is 'listed'. */
export const modelGrants = sqliteTable(
  'model_grants',
  {
    modelId: integer('model_id')
      .notNull()
      .references(() => models.id, { onDelete: 'cascade' }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
  },
  (table) => [primaryKey({ columns: [table.modelId, table.userId] }), index('model_grants_user_idx').on(table.userId)],
);

/** An admin's overrides of the model limits for one user; a null column takes the configured default. */
export const userModelLimits = sqliteTable('user_model_limits', {
  userId: integer('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  dailyTokens: integer('daily_tokens'),
  monthlyTokens: integer('monthly_tokens'),
  dailyCostUsd: real('daily_cost_usd'),
  monthlyCostUsd: real('monthly_cost_usd'),
  requestsPerMinute: integer('requests_per_minute'),
  concurrentRequests: integer('concurrent_requests'),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
});
