import { auditActions, createUser, platformPerTest, setupAdmin, startTestPlatform, type SignedIn, type TestPlatform } from './support/test-platform';

describe('audit trail', () => {
  const test = platformPerTest();

  it('records who did what, the result and the request id, newest first', async () => {
    const admin = await setupAdmin(test);
    await test.request().post('/api/auth/login').send({ username: 'admin', password: 'nope-nope' }).expect(401);
    const bob = await createUser(test, admin, 'bob');
    const change = await admin.agent.patch(`/api/users/${bob.user.id}`).set('X-CSRF-Token', admin.csrfToken).send({ role: 'admin' }).expect(200);
    await bob.agent.patch('/api/me/password').set('X-CSRF-Token', bob.csrfToken).send({ currentPassword: 'bob-password', newPassword: 'bob-password-2' }).expect(204);
    await admin.agent.patch(`/api/users/${bob.user.id}`).set('X-CSRF-Token', admin.csrfToken).send({ role: 'user' }).expect(200);
    await admin.agent.delete(`/api/users/${bob.user.id}`).set('X-CSRF-Token', admin.csrfToken).expect(204);

    const { body } = await admin.agent.get('/api/audit').expect(200);
    const trail = [...body.entries].reverse().map((entry: { actor: string; action: string; target: string; result: string }) =>
      [String(entry.actor), entry.action, entry.target, entry.result].join(' '),
    );
    expect(trail).toEqual([
      'admin setup admin success',
      'null auth.login admin failure',
      'admin user.create bob success',
      'bob auth.login bob success',
      'admin user.update bob success',
      'bob user.password.change bob success',
      'admin user.update bob success',
      'admin user.delete bob success',
    ]);
    const update = body.entries.find((entry: { requestId: string }) => entry.requestId === change.headers['x-request-id']);
    expect(update).toMatchObject({ action: 'user.update', detail: { changed: ['role'], role: 'admin' } });

    const page = await admin.agent.get(`/api/audit?limit=2&before=${body.entries[1].id}`).expect(200);
    expect(page.body.entries.map((entry: { id: number }) => entry.id)).toEqual([body.entries[2].id, body.entries[3].id]);
    await admin.agent.get('/api/audit?limit=abc').expect(400);
  });
});

type Entry = { id: number; at: string; actor: string | null; action: string; target: string | null; result: string };

/** Writes entries straight into the trail, at chosen times (the API only ever writes "now"). */
function insertEntries(test: TestPlatform, entries: { at: string; actor?: string | null; action: string; target?: string | null; result?: string }[]): void {
  const insert = test.database.sqlite.prepare('INSERT INTO audit_log (at, actor_name, action, target, result) VALUES (?, ?, ?, ?, ?)');
  for (const entry of entries) insert.run(Date.parse(entry.at), entry.actor ?? null, entry.action, entry.target ?? null, entry.result ?? 'success');
}

const summary = (entries: Entry[]) => entries.map((entry) => `${entry.actor} ${entry.action} ${entry.target} ${entry.result}`);

function textOf(response: { text: string; body: unknown }): string {
  return Buffer.isBuffer(response.body) ? response.body.toString('utf8') : response.text;
}

describe('audit log filters, pages and exports', () => {
  const test = platformPerTest();

  async function withTrail(): Promise<SignedIn> {
    const admin = await setupAdmin(test);
    insertEntries(test, [
      { at: '2026-01-10T10:00:00Z', actor: 'alice', action: 'runtime.stop', target: 'alice' },
      { at: '2026-01-20T10:00:00Z', actor: 'admin', action: 'user.create', target: 'carol' },
      { at: '2026-02-01T00:00:00Z', actor: 'admin', action: 'user.update', target: 'carol', result: 'failure' },
      { at: '2026-02-03T23:59:00Z', actor: 'bob', action: 'runtime.upgrade', target: 'bob', result: 'failure' },
      { at: '2026-02-04T00:00:00Z', actor: 'admin', action: 'model_provider.create', target: 'openai' },
      { at: '2026-02-05T00:00:00Z', actor: 'admin', action: 'model.create', target: 'gpt' },
    ]);
    return admin;
  }

  it('filters by who, what (exactly or by prefix), target, result and time, newest first', async () => {
    const admin = await withTrail();
    const list = async (query: string) => summary((await admin.agent.get(`/api/audit?${query}`).expect(200)).body.entries);

    expect(await list('actor=bob')).toEqual(['bob runtime.upgrade bob failure']);
    expect(await list('action=user.create')).toEqual(['admin user.create carol success']);
    expect(await list('action=runtime.')).toEqual(['bob runtime.upgrade bob failure', 'alice runtime.stop alice success']);
    expect(await list('action=runtime.*')).toEqual(await list('action=runtime.'));
    // "model." is not "model_provider.", and "_" is no wildcard.
    expect(await list('action=model.')).toEqual(['admin model.create gpt success']);
    expect(await list('action=model_')).toEqual([]);
    expect(await list('target=carol')).toEqual(['admin user.update carol failure', 'admin user.create carol success']);
    expect(await list('result=failure')).toEqual(['bob runtime.upgrade bob failure', 'admin user.update carol failure']);
    expect(await list('actor=admin&result=success&action=user.')).toEqual(['admin user.create carol success']);
    // A date alone for `to` takes in that whole (UTC) day; `from` is inclusive.
    expect(await list('from=2026-02-01&to=2026-02-03')).toEqual(['bob runtime.upgrade bob failure', 'admin user.update carol failure']);
    expect(await list('from=2026-01-20T10:00:00Z&to=2026-02-01T00:00:00Z')).toEqual(['admin user.create carol success']);
    expect(await list('from=2026-02-04T09:00:00%2B09:00&to=2026-02-04T10:00:00%2B09:00')).toEqual(['admin model_provider.create openai success']);
    expect(await list('actor=nobody')).toEqual([]);
  });

  it('pages older and newer through a filtered trail, with cursors that end at each end', async () => {
    const admin = await setupAdmin(test);
    insertEntries(
      test,
      Array.from({ length: 7 }, (_, index) => ({ at: `2026-03-0${index + 1}T00:00:00Z`, actor: 'admin', action: index % 2 === 0 ? 'user.create' : 'runtime.stop', target: `u${index}` })),
    );
    const page = async (query: string) => {
      const { body } = await admin.agent.get(`/api/audit?action=user.create&limit=2${query}`).expect(200);
      return { targets: body.entries.map((entry: Entry) => entry.target), older: body.older as number | null, newer: body.newer as number | null };
    };
    const first = await page('');
    expect(first).toMatchObject({ targets: ['u6', 'u4'], newer: null });
    const second = await page(`&before=${first.older}`);
    expect(second.targets).toEqual(['u2', 'u0']);
    expect(second.older).toBeNull();
    const back = await page(`&after=${second.newer}`);
    expect(back).toEqual(first);
    // The setup entry is the unfiltered trail's oldest.
    const all = await admin.agent.get('/api/audit?limit=8').expect(200);
    expect(all.body.entries).toHaveLength(8);
    expect(all.body.older).toBeNull();
  });

  it('exports every matching entry as CSV and as JSON lines, as attachments', async () => {
    const admin = await withTrail();
    insertEntries(test, [{ at: '2026-02-06T00:00:00Z', actor: 'dave', action: 'files.upload', target: '=HYPERLINK("x")' }]);

    const csv = await admin.agent.get('/api/audit.csv?result=failure').buffer(true).expect(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toMatch(/^attachment; filename=crewclaw-audit-\d{4}-\d{2}-\d{2}\.csv$/);
    const lines = textOf(csv).trim().split('\n');
    expect(lines[0]).toBe('id,at,actor,actorId,action,target,result,requestId,ip,detail');
    expect(lines.slice(1).map((line) => line.split(',').slice(1, 7).join(','))).toEqual([
      '2026-02-03T23:59:00.000Z,bob,,runtime.upgrade,bob,failure',
      '2026-02-01T00:00:00.000Z,admin,,user.update,carol,failure',
    ]);
    // A cell that a spreadsheet would run as a formula is written as text.
    const guarded = textOf(await admin.agent.get('/api/audit.csv?actor=dave').buffer(true).expect(200));
    expect(guarded).toContain(`'=HYPERLINK(""x"")`);

    const jsonl = await admin.agent.get('/api/audit.jsonl?action=user.').buffer(true).expect(200);
    expect(jsonl.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(jsonl.headers['content-disposition']).toMatch(/^attachment; filename=crewclaw-audit-\d{4}-\d{2}-\d{2}\.jsonl$/);
    const records = textOf(jsonl).trim().split('\n').map((line) => JSON.parse(line) as Entry);
    expect(summary(records)).toEqual(['admin user.update carol failure', 'admin user.create carol success']);
    expect(records[0]).toMatchObject({ at: '2026-02-01T00:00:00.000Z', requestId: null, detail: null });
  });

  it('streams an export longer than one read of the database, whole and in order', async () => {
    const admin = await setupAdmin(test);
    insertEntries(test, Array.from({ length: 1234 }, (_, index) => ({ at: new Date(Date.UTC(2026, 0, 1) + index * 1000).toISOString(), actor: 'admin', action: 'runtime.stop', target: `t${index}` })));
    const records = textOf(await admin.agent.get('/api/audit.jsonl?action=runtime.stop').buffer(true).expect(200)).trim().split('\n').map((line) => JSON.parse(line) as Entry);
    expect(records).toHaveLength(1234);
    expect(records[0]!.target).toBe('t1233');
    expect(records.at(-1)!.target).toBe('t0');
    const csvLines = textOf(await admin.agent.get('/api/audit.csv').buffer(true).expect(200)).trim().split('\n');
    expect(csvLines).toHaveLength(1 + 1234 + 1);
  });

  it('answers bad filters with 400 naming each field, on the list and the exports alike', async () => {
    const admin = await setupAdmin(test);
    const fields = async (path: string) => {
      const { body } = await admin.agent.get(path).expect(400);
      expect(body.error.code).toBe('validation_failed');
      return (body.error.fields as { field: string }[]).map((field) => field.field);
    };
    expect(await fields('/api/audit?limit=abc')).toEqual(['limit']);
    expect(await fields('/api/audit?limit=501')).toEqual(['limit']);
    expect(await fields('/api/audit?result=maybe')).toEqual(['result']);
    expect(await fields('/api/audit?from=yesterday')).toEqual(['from']);
    expect(await fields('/api/audit?from=2026-02-02&to=2026-02-01T00:00:00Z')).toEqual(['to']);
    expect(await fields('/api/audit?before=1&after=2')).toEqual(['after']);
    expect(await fields('/api/audit?actor=a&actor=b')).toEqual(['actor']);
    expect(await fields('/api/audit?action=user%20create')).toEqual(['action']);
    expect(await fields('/api/audit?who=admin')).toEqual(['who']);
    expect(await fields('/api/audit.csv?to=2026-13-01')).toEqual(['to']);
    expect(await fields('/api/audit.jsonl?limit=5')).toEqual(['limit']);
  });

  it('is for admins only', async () => {
    const admin = await setupAdmin(test);
    const bob = await createUser(test, admin, 'bob');
    for (const path of ['/api/audit', '/api/audit.csv', '/api/audit.jsonl']) {
      const refused = await bob.agent.get(path).expect(403);
      expect(refused.body.error.code).toBe('forbidden');
      await test.request().get(path).expect(401);
    }
  });
});

describe('audit log retention', () => {
  it('prunes entries older than AUDIT_RETENTION_DAYS at start, and only those', () => {
    const first = startTestPlatform({ AUDIT_RETENTION_DAYS: '30' });
    const dataDir = first.dataDir;
    const day = 86_400_000;
    insertEntries(first, [
      { at: new Date(Date.now() - 400 * day).toISOString(), action: 'user.create', target: 'ancient' },
      { at: new Date(Date.now() - 31 * day).toISOString(), action: 'user.create', target: 'old' },
      { at: new Date(Date.now() - 29 * day).toISOString(), action: 'user.create', target: 'recent' },
    ]);
    first.close({ keepData: true });

    const kept = startTestPlatform({ AUDIT_RETENTION_DAYS: '0' }, { dataDir });
    expect(auditActions(kept).map((entry) => entry.target)).toEqual(['ancient', 'old', 'recent']);
    kept.close({ keepData: true });

    const pruned = startTestPlatform({ AUDIT_RETENTION_DAYS: '30' }, { dataDir });
    try {
      expect(auditActions(pruned).map((entry) => entry.target)).toEqual(['recent']);
      const line = pruned.logs.map((raw) => JSON.parse(raw) as { message: string; removed?: number }).find((entry) => entry.message === 'pruned old audit log entries');
      expect(line).toMatchObject({ removed: 2, retentionDays: 30 });
      // Not audited itself.
      expect(auditActions(pruned)).toHaveLength(1);
    } finally {
      pruned.close();
    }
  });
});
