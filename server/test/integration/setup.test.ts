import { ADMIN, auditActions, platformPerTest, setupAdmin, userCount } from './support/test-platform';

describe('first-run setup', () => {
  const test = platformPerTest();

  it('creates the first admin, signs them in, and then answers 409', async () => {
    await test.request().get('/api/setup').expect(200, { needed: true });
    const admin = await setupAdmin(test);
    expect(admin.user).toMatchObject({ username: ADMIN.username, role: 'admin', disabled: false });
    expect(admin.csrfToken).toEqual(expect.any(String));

    const me = await admin.agent.get('/api/me').expect(200);
    expect(me.body.user.username).toBe(ADMIN.username);

    await test.request().get('/api/setup').expect(200, { needed: false });
    const again = await test.request().post('/api/setup').send({ username: 'mallory', password: 'mallory-password' }).expect(409);
    expect(again.body.error.code).toBe('setup_done');
    expect(userCount(test)).toBe(1);
    expect(auditActions(test).map((entry) => [entry.action, entry.result])).toEqual([
      ['setup', 'success'],
      ['setup', 'failure'],
    ]);
  });

  it('lets exactly one of many simultaneous setups win', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 6 }, (_, index) => test.request().post('/api/setup').send({ username: `admin${index}`, password: 'same-password' })),
    );
    expect(attempts.map((response) => response.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    expect(userCount(test)).toBe(1);
  });

  it.each([
    [{ username: 'Alice', password: 'long-enough' }, 'username'],
    [{ username: 'a', password: 'long-enough' }, 'username'],
    [{ username: '1alice', password: 'long-enough' }, 'username'],
    [{ username: 'al_ice', password: 'long-enough' }, 'username'],
    [{ username: 'a'.repeat(33), password: 'long-enough' }, 'username'],
    [{ username: 'alice', password: 'short' }, 'password'],
    [{ username: 'alice', password: 12345678 }, 'password'],
    [{ username: 'alice' }, 'password'],
    [{ username: 'alice', password: 'long-enough', role: 'user' }, 'role'],
  ])('rejects %j naming the field "%s" and writes nothing', async (body, field) => {
    const response = await test.request().post('/api/setup').send(body).expect(400);
    expect(response.body.error.code).toBe('validation_failed');
    expect(response.body.error.fields.map((entry: { field: string }) => entry.field)).toContain(field);
    expect(userCount(test)).toBe(0);
  });
});
