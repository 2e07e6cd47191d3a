import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { users } from './users.table';

/**
 * Server-side sessions (express-session store). user_id is copied out of the
 * session data so all of one user's sessions can be ended at once, and the
 * foreign key ends them when the user is deleted.
 */
export const sessions = sqliteTable(
  'sessions',
  {
    sid: text('sid').primaryKey(),
    userId: integer('user_id').references(() => users.id, { onDelete: 'cascade' }),
    data: text('data').notNull(),
    expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (table) => [index('sessions_user_id_idx').on(table.userId), index('sessions_expires_at_idx').on(table.expiresAt)],
);
