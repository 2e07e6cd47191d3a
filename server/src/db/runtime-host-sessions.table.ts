import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { sessions } from './sessions.table';
import { users } from './users.table';

/**
 * Sign-ins on runtime hosts (per-user subdomains: proxy/runtime-address.ts). The platform's session
 * cookie is host-only, so a user's runtime host gets a cookie of its own, made from a one-time code
 * (services/runtime-handoff.ts). Only its hash is kept. Each belongs to the platform session it was
 * made from and ends with it: signing out, a password change or a deleted user ends it too.
 */
export const runtimeHostSessions = sqliteTable(
  'runtime_host_sessions',
  {
    tokenHash: text('token_hash').primaryKey(),
    sessionId: text('session_id')
      .notNull()
      .references(() => sessions.sid, { onDelete: 'cascade' }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (table) => [index('runtime_host_sessions_session_id_idx').on(table.sessionId)],
);
