import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const AUDIT_RESULTS = ['success', 'failure'] as const;

/**
 * Who did what to what, and whether it worked. Actors are recorded by id and
 * by name at the time, without a foreign key: the trail must outlive the user.
 */
export const auditLog = sqliteTable(
  'audit_log',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at', { mode: 'timestamp_ms' }).notNull(),
    actorId: integer('actor_id'),
    actorName: text('actor_name'),
    action: text('action').notNull(),
    target: text('target'),
    result: text('result', { enum: AUDIT_RESULTS }).notNull(),
    requestId: text('request_id'),
    ip: text('ip'),
    detail: text('detail'),
  },
  (table) => [index('audit_log_at_idx').on(table.at), index('audit_log_actor_id_idx').on(table.actorId)],
);
