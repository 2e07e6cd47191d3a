import { createServices } from '../../src/platform';
import { CLI_CONTEXT } from '../../src/services/request-context';
import { auditActions, createUser, setupAdmin, signIn, startTestPlatform, userCount, type SignedIn, type TestPlatform } from './support/test-platform';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

describe('user administration', () => {
  let test: TestPlatform;
  let admin: SignedIn;
  beforeEach(async () => {
    test = startTestPlatform();
    admin = await setupAdmin(test);
  });
  afterEach(() => test.close());

  const send = (who: SignedIn, method: Method, url: string, body?: object) => {
    const request = who.agent[method](url).set('X-CSRF-Token', who.csrfToken);
    return body === undefined ? request : request.send(body);
  };

  it('creates, reads, changes and deletes users', async () => {
    const created = await send(admin, 'post', '/api/users', { username: 'bob', password: 'bob-password' }).expect(201);
    expect(created.body.user).toMatchObject({ username: 'bob', role: 'user', disabled: false, lastLoginAt: null });
    expect(created.body.user).not.toHaveProperty('passwordHash');
    const id = created.body.user.id as number;

    const list = await admin.agent.get('/api/users').expect(200);
    expect(list.body.users.map((user: { username: string }) => user.username)).toEqual(['admin', 'bob']);
    await admin.agent.get(`/api/users/${id}`).expect(200);

    const promoted = await send(admin, 'patch', `/api/users/${id}`, { role: 'admin' }).expect(200);
    expect(promoted.body.user.role).toBe('admin');
    await send(admin, 'patch', `/api/users/${id}`, { password: 'brand-new-password' }).expect(200);
    await signIn(test, 'bob', 'brand-new-password');

    await send(admin, 'delete', `/api/users/${id}`).expect(204);
    await admin.agent.get(`/api/users/${id}`).expect(404);
    expect(auditActions(test).map((entry) => `${entry.action}:${entry.result}`)).toEqual(
      expect.arrayContaining(['user.create:success', 'user.update:success', 'user.delete:success']),
    );
  });

  it('refuses a taken username with a field error', async () => {
    await send(admin, 'post', '/api/users', { username: 'bob', password: 'bob-password' }).expect(201);
    const duplicate = await send(admin, 'post', '/api/users', { username: 'bob', password: 'other-password' }).expect(409);
    expect(duplicate.body.error.fields).toEqual([{ field: 'username', message: 'That username is taken.' }]);
  });

  it('ends the sessions of a user whose password an admin resets', async () => {
    const bob = await createUser(test, admin, 'bob');
    await send(admin, 'patch', `/api/users/${bob.user.id}`, { password: 'reset-by-admin' }).expect(200);
    await bob.agent.get('/api/me').expect(401);
  });

  it('keeps the platform administrable: no self-demotion, self-disable, self-delete or losing the last admin', async () => {
    const id = admin.user.id;
    for (const body of [{ role: 'user' }, { disabled: true }]) {
      const refused = await send(admin, 'patch', `/api/users/${id}`, body).expect(409);
      expect(refused.body.error.code).toBe('own_account');
    }
    expect((await send(admin, 'delete', `/api/users/${id}`).expect(409)).body.error.code).toBe('own_account');

    const carol = await createUser(test, admin, 'carol', 'carol-password', 'admin');
    // With a second admin, carol may demote the first one, but then not herself.
    await send(carol, 'patch', `/api/users/${id}`, { role: 'user' }).expect(200);
    await send(carol, 'patch', `/api/users/${carol.user.id}`, { role: 'user' }).expect(409);
    const admins = (await carol.agent.get('/api/users').expect(200)).body.users.filter((user: { role: string }) => user.role === 'admin');
    expect(admins).toHaveLength(1);
  });

  it('never lets the last active admin go, whoever asks (here: the admin CLI, which has no account)', async () => {
    const services = createServices(test.database, test.config);
    await expect(services.users.update(CLI_CONTEXT, admin.user.id, { disabled: true })).rejects.toMatchObject({ status: 409, code: 'last_admin' });
    await expect(services.users.update(CLI_CONTEXT, admin.user.id, { role: 'user' })).rejects.toMatchObject({ code: 'last_admin' });
    await expect(services.users.delete(CLI_CONTEXT, admin.user.id)).rejects.toMatchObject({ code: 'last_admin' });
    await admin.agent.get('/api/users').expect(200);
  });

  describe('every admin route', () => {
    // Every row has three entries: jest would pass its `done` callback in place of a missing one.
    const routes: [Method, string, object | undefined][] = [
      ['get', '/api/users', undefined],
      ['post', '/api/users', { username: 'eve', password: 'eve-password' }],
      ['get', '/api/users/1', undefined],
      ['patch', '/api/users/1', { role: 'user' }],
      ['delete', '/api/users/1', undefined],
      ['get', '/api/audit', undefined],
      ['get', '/api/admin/runtimes', undefined],
      ['get', '/api/admin/runtimes/admin', undefined],
      ['post', '/api/admin/runtimes/admin/start', {}],
      ['post', '/api/admin/runtimes/admin/stop', {}],
      ['post', '/api/admin/runtimes/admin/restart', {}],
      ['get', '/api/admin/runtimes/admin/logs', undefined],
      ['patch', '/api/admin/runtimes/admin/limits', { memoryMb: 1024 }],
      ['post', '/api/admin/runtimes/upgrade', {}],
      ['delete', '/api/admin/runtimes/admin?purge=true', undefined],
      ['get', '/api/admin/files/admin?path=', undefined],
      ['get', '/api/admin/files/admin/stat?path=x', undefined],
      ['get', '/api/admin/files/admin/content?path=x', undefined],
      ['get', '/api/admin/files/admin/archive?path=x', undefined],
      ['post', '/api/admin/files/admin/upload?path=&name=x', {}],
      ['put', '/api/admin/files/admin/content?path=x', {}],
      ['post', '/api/admin/files/admin/mkdir', { path: 'x' }],
      ['post', '/api/admin/files/admin/move', { from: 'x', to: 'y' }],
      ['post', '/api/admin/files/admin/copy', { from: 'x', to: 'y' }],
      ['delete', '/api/admin/files/admin?path=x', undefined],
    ];

    it.each(routes)('%s %s answers 401 to anonymous callers', async (method, url, body) => {
      const request = test.request()[method](url);
      const response = await (body ? request.send(body) : request).expect(401);
      expect(response.body.error.code).toBe('unauthorized');
    });

    it.each(routes)('%s %s answers 403 to a signed-in non-admin and changes nothing', async (method, url, body) => {
      const bob = await createUser(test, admin, 'bob');
      const response = await send(bob, method, url, body).expect(403);
      expect(response.body.error.code).toBe('forbidden');
      expect(userCount(test)).toBe(2);
      const stillAdmin = await admin.agent.get('/api/users/1').expect(200);
      expect(stillAdmin.body.user.role).toBe('admin');
    });
  });

  describe('bad input', () => {
    it.each([
      ['wrong types', { username: 42, password: true }, ['username', 'password']],
      ['missing fields', {}, ['username', 'password']],
      ['an unknown field', { username: 'bob', password: 'bob-password', isAdmin: true }, ['isAdmin']],
      ['an overlong username', { username: 'b'.repeat(300), password: 'bob-password' }, ['username']],
      ['an uppercase username', { username: 'Bob', password: 'bob-password' }, ['username']],
      ['a username with a slash', { username: 'bob/../x', password: 'bob-password' }, ['username']],
      ['an unknown role', { username: 'bob', password: 'bob-password', role: 'root' }, ['role']],
      ['an overlong password', { username: 'bob', password: 'p'.repeat(257) }, ['password']],
    ])('creating a user with %s is a field error and writes nothing', async (_label, body, fields) => {
      const response = await send(admin, 'post', '/api/users', body).expect(400);
      expect(response.body.error.code).toBe('validation_failed');
      expect(response.body.error.fields.map((field: { field: string }) => field.field).sort()).toEqual([...fields].sort());
      expect(userCount(test)).toBe(1);
    });

    it('answers a body that is not an object with a 400', async () => {
      const post = (body: string) => admin.agent.post('/api/users').set('X-CSRF-Token', admin.csrfToken).set('Content-Type', 'application/json').send(body).expect(400);
      expect((await post('[1,2]')).body.error.fields).toEqual([{ field: '(body)', message: 'must be a JSON object' }]);
      for (const body of ['"text"', 'null', '42']) {
        expect((await post(body)).body.error.code).toBe('invalid_json');
      }
      expect(userCount(test)).toBe(1);
    });

    it('answers malformed JSON with 400 invalid_json', async () => {
      const response = await admin.agent.post('/api/users').set('X-CSRF-Token', admin.csrfToken).set('Content-Type', 'application/json').send('{"username": "bob",').expect(400);
      expect(response.body.error.code).toBe('invalid_json');
      expect(userCount(test)).toBe(1);
    });

    it('answers a 5 MB body with 413', async () => {
      const huge = JSON.stringify({ username: 'bob', password: 'x'.repeat(5 * 1024 * 1024) });
      const response = await admin.agent.post('/api/users').set('X-CSRF-Token', admin.csrfToken).set('Content-Type', 'application/json').send(huge).expect(413);
      expect(response.body.error.code).toBe('payload_too_large');
      expect(userCount(test)).toBe(1);
    });

    it('answers an empty patch, a wrong type, and an unknown field with field errors', async () => {
      const empty = await send(admin, 'patch', '/api/users/1', {}).expect(400);
      expect(empty.body.error.fields[0].message).toMatch(/at least one/);
      const wrongType = await send(admin, 'patch', '/api/users/1', { disabled: 'yes' }).expect(400);
      expect(wrongType.body.error.fields).toEqual([{ field: 'disabled', message: 'must be true or false' }]);
      const unknown = await send(admin, 'patch', '/api/users/1', { username: 'renamed' }).expect(400);
      expect(unknown.body.error.fields).toContainEqual({ field: 'username', message: 'is not a known field' });
    });

    it.each(['999', 'abc', '0', '-1', '1.5', '99999999999999999999'])('answers the user id %s with the same 404', async (id) => {
      const response = await admin.agent.get(`/api/users/${id}`).expect(404);
      expect(response.body).toEqual({ error: { code: 'not_found', message: 'That user does not exist.' } });
      await send(admin, 'patch', `/api/users/${id}`, { role: 'user' }).expect(404);
      await send(admin, 'delete', `/api/users/${id}`).expect(404);
    });
  });
});
