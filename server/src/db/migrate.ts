/**
 * Brings the database schema to the head of migrations/ (drizzle-kit output).
 * Before changing anything it copies the SQLite file to a timestamped backup,
 * and it refuses to touch a database written by a newer CrewClaw.
 */
import fs from 'node:fs';
import path from 'node:path';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type { DatabaseHandle } from './client';

/** migrations/ sits three levels above both server/src/db and dist/server/db. */
export const MIGRATIONS_DIR = path.resolve(__dirname, '..', '..', '..', 'migrations');
const MIGRATIONS_TABLE = '__drizzle_migrations';

export class DatabaseTooNewError extends Error {
  constructor(file: string, unknown: number) {
    super(
      `The database ${file} was migrated by a newer version of CrewClaw (${unknown} migration(s) this version does not know). ` +
        'Run the newer version, or restore one of the backups next to the database file.',
    );
    this.name = 'DatabaseTooNewError';
  }
}

export interface MigrationStatus {
  known: number;
  applied: number;
  pending: number;
  /** Applied in the database but absent from this code: a newer release wrote it. */
  unknown: number;
}

export interface MigrationResult extends MigrationStatus {
  backupFile?: string;
}

function appliedMigrationTimes(handle: DatabaseHandle): number[] {
  const table = handle.sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?").get(MIGRATIONS_TABLE);
  if (!table) return [];
  const rows = handle.sqlite.prepare(`SELECT created_at FROM ${MIGRATIONS_TABLE}`).all() as { created_at: number | string }[];
  return rows.map((row) => Number(row.created_at));
}

export function migrationStatus(handle: DatabaseHandle, migrationsDir = MIGRATIONS_DIR): MigrationStatus {
  const known = readMigrationFiles({ migrationsFolder: migrationsDir });
  const knownTimes = new Set(known.map((migration) => migration.folderMillis));
  const applied = appliedMigrationTimes(handle);
  const lastApplied = Math.max(0, ...applied);
  return {
    known: known.length,
    applied: applied.length,
    pending: known.filter((migration) => migration.folderMillis > lastApplied).length,
    unknown: applied.filter((time) => !knownTimes.has(time)).length,
  };
}

function hasAnyTable(handle: DatabaseHandle): boolean {
  return handle.sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' LIMIT 1").get() !== undefined;
}

function backupName(file: string, now: Date): string {
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  return `${file}.backup-${stamp}`;
}

export function migrateDatabase(handle: DatabaseHandle, options: { migrationsDir?: string; now?: Date } = {}): MigrationResult {
  const migrationsDir = options.migrationsDir ?? MIGRATIONS_DIR;
  const before = migrationStatus(handle, migrationsDir);
  if (before.unknown > 0) throw new DatabaseTooNewError(handle.file, before.unknown);
  if (before.pending === 0) return before;

  let backupFile: string | undefined;
  if (hasAnyTable(handle)) {
    backupFile = backupName(path.resolve(handle.file), options.now ?? new Date());
    // VACUUM INTO writes a consistent copy even with WAL pages not yet checkpointed.
    if (fs.existsSync(backupFile)) fs.rmSync(backupFile);
    handle.sqlite.prepare('VACUUM INTO ?').run(backupFile);
  }
  migrate(handle.db, { migrationsFolder: migrationsDir, migrationsTable: MIGRATIONS_TABLE });
  return { ...migrationStatus(handle, migrationsDir), backupFile };
}
