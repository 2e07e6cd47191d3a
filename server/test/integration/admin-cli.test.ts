import fs from 'node:fs';
import path from 'node:path';
import { runTs } from './support/spawn';
import { makeTempDir, platformPerTest, signIn } from './support/test-platform';

// Each case runs the CLI from source (tsx) several times: seconds each on a busy 2-core machine.
jest.setTimeout(60_000);

const admin = (args: string[], dataDir: string, input: string) => runTs('server/src/cli/admin.ts', args, { DATA_DIR: dataDir }, input);

describe('admin command line', () => {
  const test = platformPerTest();

  it('creates an admin who can then sign in and administer, on the database the server is using', async () => {
    const result = await admin(['create-user', 'rescue', '--admin'], test.dataDir, 'rescue-password\n');
    expect(result.stderr).toBe('');
    expect(result).toMatchObject({ code: 0, stdout: 'Created admin "rescue".\n' });
    const rescue = await signIn(test, 'rescue', 'rescue-password');
    await rescue.agent.get('/api/users').expect(200);

    const plain = await admin(['create-user', 'plain'], test.dataDir, 'plain-password\n');
    expect(plain.code).toBe(0);
    expect((await signIn(test, 'plain', 'plain-password')).user.role).toBe('user');
  });

  it('resets a forgotten password and ends that user\'s sessions', async () => {
    await admin(['create-user', 'forgetful', '--admin'], test.dataDir, 'first-password\n');
    const session = await signIn(test, 'forgetful', 'first-password');

    const result = await admin(['reset-password', 'forgetful'], test.dataDir, 'second-password\n');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/New password set for "forgetful"/);
    await session.agent.get('/api/me').expect(401);
    await signIn(test, 'forgetful', 'second-password');
    const audit = test.database.sqlite.prepare("SELECT actor_name, action, result FROM audit_log WHERE action LIKE 'user.%'").all();
    expect(audit).toEqual([
      { actor_name: 'cli', action: 'user.create', result: 'success' },
      { actor_name: 'cli', action: 'user.update', result: 'success' },
    ]);
  });

  it('explains bad input and exits non-zero without writing', async () => {
    const badName = await admin(['create-user', 'Bad_Name'], test.dataDir, 'good-password\n');
    expect(badName.code).toBe(1);
    expect(badName.stderr).toMatch(/username: use lowercase letters/);
    const shortPassword = await admin(['create-user', 'okname'], test.dataDir, 'short\n');
    expect(shortPassword.stderr).toMatch(/password: must be at least 8 characters/);
    const missing = await admin(['reset-password', 'ghost'], test.dataDir, 'good-password\n');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/does not exist/);
    const usage = await admin(['frobnicate', 'x'], test.dataDir, '');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/Usage:/);
    expect(test.database.sqlite.prepare('SELECT count(*) AS n FROM users').get()).toEqual({ n: 0 });
  });

  it('works on a brand-new data directory, creating and migrating the database', async () => {
    const fresh = makeTempDir();
    try {
      const result = await admin(['create-user', 'first', '--admin'], fresh, 'first-password\n');
      expect(result.code).toBe(0);
      expect(fs.existsSync(path.join(fresh, 'crewclaw.db'))).toBe(true);
    } finally {
      fs.rmSync(fresh, { recursive: true, force: true });
    }
  });
});
