import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { openDatabase } from '../../src/db/client';
import { DatabaseTooNewError, MIGRATIONS_DIR, migrateDatabase, migrationStatus } from '../../src/db/migrate';
import { makeTempDir } from './support/test-platform';

interface Journal {
  entries: { idx: number; tag: string; when: number }[];
}

/** A copy of migrations/ holding only the first `count` migrations: "the release before". */
function migrationsUpTo(count: number, dir: string): string {
  const target = path.join(dir, `migrations-${count}`);
  fs.mkdirSync(path.join(target, 'meta'), { recursive: true });
  const journal = JSON.parse(fs.readFileSync(path.join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as Journal;
  const entries = journal.entries.slice(0, count);
  fs.writeFileSync(path.join(target, 'meta', '_journal.json'), JSON.stringify({ ...journal, entries }));
  for (const entry of entries) fs.copyFileSync(path.join(MIGRATIONS_DIR, `${entry.tag}.sql`), path.join(target, `${entry.tag}.sql`));
  return target;
}

const tables = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((row) => row.name);
  } finally {
    db.close();
  }
};

describe('database migrations', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('migrates an empty database to head with WAL and foreign keys on, without a pointless backup', () => {
    const database = openDatabase(path.join(dir, 'crewclaw.db'));
    const result = migrateDatabase(database);
    expect(result).toMatchObject({ pending: 0, unknown: 0, backupFile: undefined });
    expect(result.applied).toBe(result.known);
    expect(database.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(database.sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
    database.close();
    expect(tables(path.join(dir, 'crewclaw.db'))).toEqual(expect.arrayContaining(['users', 'sessions', 'audit_log']));
    expect(fs.readdirSync(dir).filter((name) => name.includes('backup'))).toEqual([]);
  });

  it('has at least one upgrade path to test', () => {
    expect(readMigrationFiles({ migrationsFolder: MIGRATIONS_DIR }).length).toBeGreaterThan(1);
  });

  const known = readMigrationFiles({ migrationsFolder: MIGRATIONS_DIR }).length;
  it.each(Array.from({ length: known - 1 }, (_, index) => index + 1))(
    'upgrades a database made by migration %i to head, keeping its data and a backup of the old file',
    (previous) => {
      const file = path.join(dir, 'crewclaw.db');
      const old = openDatabase(file);
      migrateDatabase(old, { migrationsDir: migrationsUpTo(previous, dir) });
      old.sqlite
        .prepare("INSERT INTO users (username, password_hash, role, disabled, created_at, updated_at) VALUES ('old-admin', 'hash', 'admin', 0, 1, 1)")
        .run();
      const tablesBefore = tables(file);
      expect(migrationStatus(old).pending).toBe(known - previous);

      const result = migrateDatabase(old, { now: new Date('2026-01-02T03:04:05.678Z') });
      expect(result.pending).toBe(0);
      expect(result.backupFile).toBe(`${path.resolve(file)}.backup-2026-01-02T03-04-05-678Z`);
      expect(old.sqlite.prepare('SELECT username FROM users').all()).toEqual([{ username: 'old-admin' }]);
      old.close();

      // The backup is the database as it was before the upgrade.
      expect(tables(result.backupFile!)).toEqual(tablesBefore);
      const backup = new Database(result.backupFile, { readonly: true });
      expect(backup.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get()).toEqual({ n: previous });
      backup.close();
    },
  );

  it('does nothing, and backs up nothing, when already at head', () => {
    const database = openDatabase(path.join(dir, 'crewclaw.db'));
    migrateDatabase(database);
    const again = migrateDatabase(database);
    expect(again.backupFile).toBeUndefined();
    database.close();
  });

  it('refuses a database written by a newer CrewClaw and leaves it untouched', () => {
    const file = path.join(dir, 'crewclaw.db');
    const database = openDatabase(file);
    migrateDatabase(database);
    database.sqlite.prepare("INSERT INTO __drizzle_migrations (hash, created_at) VALUES ('from-the-future', 4102444800000)").run();
    const before = database.sqlite.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get();

    expect(() => migrateDatabase(database)).toThrow(DatabaseTooNewError);
    expect(() => migrateDatabase(database)).toThrow(/newer version of CrewClaw/);
    expect(database.sqlite.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get()).toEqual(before);
    database.close();
  });
});
