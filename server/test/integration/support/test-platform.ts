/**
 * A real platform for integration tests: real config parsing, a real SQLite
 * file in a fresh temp dir, migrations applied, the real Express app, and the
 * log lines captured so tests can read them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import supertest from 'supertest';
import { loadConfig, type Config } from '../../../src/config/config';
import { openDatabase, type DatabaseHandle } from '../../../src/db/client';
import { migrateDatabase } from '../../../src/db/migrate';
import { createLogger } from '../../../src/logging/logger';
import { createPlatform, type Platform } from '../../../src/platform';
import type { RuntimeDriver } from '../../../src/runtimes/runtime-driver';

export interface TestPlatform {
  config: Config;
  database: DatabaseHandle;
  platform: Platform;
  dataDir: string;
  logs: string[];
  request: () => supertest.Agent;
  close(options?: { keepData?: boolean }): void;
}

export function makeTempDir(prefix = 'crewclaw-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function startTestPlatform(env: Record<string, string> = {}, options: { driver?: RuntimeDriver; dataDir?: string } = {}): TestPlatform {
  const dataDir = options.dataDir ?? makeTempDir();
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'debug', LOG_FORMAT: 'json', ...env });
  const logs: string[] = [];
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => logs.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  const logger = createLogger({ level: config.logLevel, format: config.logFormat, stream });
  const database = openDatabase(config.databaseFile);
  migrateDatabase(database);
  const platform = createPlatform(config, logger, database, { webDir: path.join(dataDir, 'no-web'), driver: options.driver });
  return {
    config,
    database,
    platform,
    dataDir,
    logs,
    request: () => supertest.agent(platform.app),
    close(options: { keepData?: boolean } = {}) {
      platform.close();
      if (database.sqlite.open) database.close();
      if (!options.keepData) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const ADMIN = { username: 'admin', password: 'admin-password-1' };

export interface SignedIn {
  agent: supertest.Agent;
  csrfToken: string;
  user: { id: number; username: string; role: string };
}

/** Runs first-run setup and returns the admin's signed-in agent. */
export async function setupAdmin(test: TestPlatform, credentials = ADMIN): Promise<SignedIn> {
  const agent = test.request();
  const response = await agent.post('/api/setup').send(credentials).expect(201);
  return { agent, csrfToken: response.body.csrfToken, user: response.body.user };
}

export async function signIn(test: TestPlatform, username: string, password: string): Promise<SignedIn> {
  const agent = test.request();
  const response = await agent.post('/api/auth/login').send({ username, password }).expect(200);
  return { agent, csrfToken: response.body.csrfToken, user: response.body.user };
}

/** Admin creates a user and that user signs in. */
export async function createUser(test: TestPlatform, admin: SignedIn, username: string, password = `${username}-password`, role = 'user'): Promise<SignedIn> {
  await admin.agent.post('/api/users').set('X-CSRF-Token', admin.csrfToken).send({ username, password, role }).expect(201);
  return signIn(test, username, password);
}

export function auditActions(test: TestPlatform): { action: string; target: string | null; result: string; actor_name: string | null; request_id: string | null }[] {
  return test.database.sqlite.prepare('SELECT action, target, result, actor_name, request_id FROM audit_log ORDER BY id').all() as never;
}

export function userCount(test: TestPlatform): number {
  return (test.database.sqlite.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n;
}

/**
 * A fresh platform for every test of the calling describe block, closed after each. The returned
 * object always stands for the current test's platform.
 */
export function platformPerTest(env: Record<string, string> = {}): TestPlatform {
  let current: TestPlatform | undefined;
  beforeEach(() => {
    current = startTestPlatform(env);
  });
  afterEach(() => current?.close());
  return new Proxy({} as TestPlatform, {
    get(_target, key: keyof TestPlatform) {
      if (!current) throw new Error('platformPerTest() is only usable inside a test');
      const value: unknown = Reflect.get(current, key);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(current) : value;
    },
  });
}
