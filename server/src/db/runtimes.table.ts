import { sql } from 'drizzle-orm';
import { check, index, integer, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { users } from './users.table';

export const RUNTIME_STATES = ['absent', 'creating', 'starting', 'running', 'stopping', 'stopped', 'error'] as const;

/**
 * What the platform knows about each user's runtime beyond what Docker says:
 * the state of the last lifecycle operation, the image it should run (and the
 * one it came from, for a health-gated rollback), its /28 network, the hash of
 * its model token, per-user limits, and when it was last used.
 */
export const runtimes = sqliteTable(
  'runtimes',
  {
    userId: integer('user_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    state: text('state', { enum: RUNTIME_STATES }).notNull().default('absent'),
    image: text('image'),
    previousImage: text('previous_image'),
    containerId: text('container_id'),
    // Index of the user's /28 inside RUNTIME_SUBNET_POOL; unique so two users never share a network.
    subnetIndex: integer('subnet_index').unique(),
    tokenHash: text('token_hash'),
    memoryMb: integer('memory_mb'),
    cpus: real('cpus'),
    startedAt: integer('started_at', { mode: 'timestamp_ms' }),
    lastActivityAt: integer('last_activity_at', { mode: 'timestamp_ms' }),
    errorMessage: text('error_message'),
    errorLogs: text('error_logs'),
    // How the runtime last ended without the platform asking (crash, kill, out of memory, removal),
    // as JSON (services/runtime-exit.ts), so the user and admins see what happened to it.
    lastExit: text('last_exit'),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (table) => [
    check('runtimes_state_check', sql`${table.state} in ('absent', 'creating', 'starting', 'running', 'stopping', 'stopped', 'error')`),
    // Every model call (/v1) finds its caller by this.
    index('runtimes_token_hash_idx').on(table.tokenHash),
  ],
);
