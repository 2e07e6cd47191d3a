import fs from 'node:fs';
import path from 'node:path';
import { openDatabase } from '../../src/db/client';
import { migrateDatabase } from '../../src/db/migrate';
import { runTs } from './support/spawn';
import { makeTempDir } from './support/test-platform';

describe('start-up refusals', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = makeTempDir();
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('stops on bad settings, naming every bad variable and never echoing a secret', async () => {
    const result = await runTs('server/src/main.ts', [], {
      DATA_DIR: dataDir,
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      SESSION_SECRET: 'too-short-secret',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/PORT: .*"eighty"/);
    expect(result.stderr).toMatch(/LOG_LEVEL: /);
    expect(result.stderr).toMatch(/SESSION_SECRET: must be at least 32 characters/);
    expect(result.stderr).not.toContain('too-short-secret');
    expect(fs.existsSync(path.join(dataDir, 'crewclaw.db'))).toBe(false);
  });

  it('refuses a database newer than the code with a clear message', async () => {
    const database = openDatabase(path.join(dataDir, 'crewclaw.db'));
    migrateDatabase(database);
    database.sqlite.prepare("INSERT INTO __drizzle_migrations (hash, created_at) VALUES ('future', 4102444800000)").run();
    database.close();

    const result = await runTs('server/src/main.ts', [], { DATA_DIR: dataDir, PORT: '38123', HOST: '127.0.0.1' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/migrated by a newer version of CrewClaw/);
    expect(result.stderr).toMatch(/restore one of the backups/);
  });
});
