import { auditActions, createUser, platformPerTest, setupAdmin, signIn } from './support/test-platform';

describe('my account', () => {
  const test = platformPerTest();

  it('answers 401 in the error shape when not signed in', async () => {
    const response = await test.request().get('/api/me').expect(401);
    expect(response.body).toEqual({ error: { code: 'unauthorized', message: 'Sign in first.' } });
  });

  it('changes my password: old one stops working, other sessions end, this one stays', async () => {
    const admin = await setupAdmin(test);
    const bob = await createUser(test, admin, 'bob');
    const bobOnPhone = await signIn(test, 'bob', 'bob-password');

    await bob.agent.patch('/api/me/password').set('X-CSRF-Token', bob.csrfToken).send({ currentPassword: 'bob-password', newPassword: 'bob-new-password' }).expect(204);
    await bob.agent.get('/api/me').expect(200);
    await bobOnPhone.agent.get('/api/me').expect(401);
    await test.request().post('/api/auth/login').send({ username: 'bob', password: 'bob-password' }).expect(401);
    await signIn(test, 'bob', 'bob-new-password');
    expect(auditActions(test).filter((entry) => entry.action === 'user.password.change').map((entry) => entry.result)).toEqual(['success']);
  });

  it('refuses a wrong current password as a field error and keeps the old one', async () => {
    const admin = await setupAdmin(test);
    const response = await admin.agent.patch('/api/me/password').set('X-CSRF-Token', admin.csrfToken).send({ currentPassword: 'not-it', newPassword: 'whatever-new' }).expect(400);
    expect(response.body.error.fields).toEqual([{ field: 'currentPassword', message: 'is not your current password' }]);
    await signIn(test, 'admin', 'admin-password-1');
    expect(auditActions(test).some((entry) => entry.action === 'user.password.change' && entry.result === 'failure')).toBe(true);
  });

  it('refuses a too-short new password and unknown fields', async () => {
    const admin = await setupAdmin(test);
    const response = await admin.agent.patch('/api/me/password').set('X-CSRF-Token', admin.csrfToken).send({ currentPassword: 'admin-password-1', newPassword: 'short', extra: 1 }).expect(400);
    expect(response.body.error.fields.map((field: { field: string }) => field.field).sort()).toEqual(['extra', 'newPassword']);
  });
});
