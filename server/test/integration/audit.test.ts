import { createUser, platformPerTest, setupAdmin } from './support/test-platform';

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
