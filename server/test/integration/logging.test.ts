import { createUser, platformPerTest, setupAdmin } from './support/test-platform';

describe('request logging', () => {
  const test = platformPerTest();

  it('writes one JSON line per request with the request id it also returns', async () => {
    const response = await test.request().get('/api/health').expect(200);
    const id = response.headers['x-request-id'] as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const lines = test.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.requestId === id);
    expect(lines).toEqual([expect.objectContaining({ message: 'request', method: 'GET', url: '/api/health', status: 200, level: 'info' })]);
  });

  it('keeps a sane incoming X-Request-Id and replaces a hostile one', async () => {
    const kept = await test.request().get('/api/health').set('X-Request-Id', 'trace-abc.123').expect(200);
    expect(kept.headers['x-request-id']).toBe('trace-abc.123');
    const replaced = await test.request().get('/api/health').set('X-Request-Id', 'bad id\twith "quotes"').expect(200);
    expect(replaced.headers['x-request-id']).not.toContain('quotes');
  });

  it('never writes passwords, tokens, cookies or Authorization headers', async () => {
    const admin = await setupAdmin(test, { username: 'admin', password: 'SECRET-admin-pass' });
    await test.request().post('/api/auth/login').send({ username: 'admin', password: 'SECRET-wrong-pass' }).expect(401);
    const bob = await createUser(test, admin, 'bob', 'SECRET-bob-pass');
    await bob.agent.patch('/api/me/password').set('X-CSRF-Token', bob.csrfToken).set('Authorization', 'Bearer SECRET-bearer').send({ currentPassword: 'SECRET-bob-pass', newPassword: 'SECRET-bob-new' }).expect(204);
    await test.request().get('/api/nothing?token=SECRET-query-token&page=2').set('Cookie', 'crewclaw.sid=SECRET-cookie').expect(404);

    const everything = test.logs.join('\n');
    expect(everything).not.toMatch(/SECRET/);
    expect(everything).not.toContain(admin.csrfToken);
    expect(everything).toContain('/api/nothing?token=%5Bredacted%5D&page=2');
    expect(test.logs.length).toBeGreaterThan(5);
  });
});
