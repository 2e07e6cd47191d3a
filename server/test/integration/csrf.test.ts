import { platformPerTest, setupAdmin, userCount } from './support/test-platform';

describe('CSRF protection', () => {
  const test = platformPerTest({ PUBLIC_URL: 'https://crew.example.test' });

  it('refuses a signed-in write without the token, or with a wrong one, and changes nothing', async () => {
    const admin = await setupAdmin(test);
    const newUser = { username: 'bob', password: 'bob-password' };
    const missing = await admin.agent.post('/api/users').send(newUser).expect(403);
    expect(missing.body.error.code).toBe('csrf_invalid');
    const wrong = await admin.agent.post('/api/users').set('X-CSRF-Token', 'not-the-token').send(newUser).expect(403);
    expect(wrong.body.error.code).toBe('csrf_invalid');
    await admin.agent.post('/api/auth/logout').expect(403);
    expect(userCount(test)).toBe(1);

    await admin.agent.post('/api/users').set('X-CSRF-Token', admin.csrfToken).send(newUser).expect(201);
    expect(userCount(test)).toBe(2);
  });

  it('does not accept one session\'s token in another session', async () => {
    const admin = await setupAdmin(test);
    const other = await test.request().post('/api/auth/login').send({ username: 'admin', password: 'admin-password-1' }).expect(200);
    expect(other.body.csrfToken).not.toBe(admin.csrfToken);
    const otherAgentToken = other.body.csrfToken as string;
    await admin.agent.post('/api/users').set('X-CSRF-Token', otherAgentToken).send({ username: 'bob', password: 'bob-password' }).expect(403);
  });

  it('refuses cross-site sign-in and setup attempts from a browser', async () => {
    const evil = await test.request().post('/api/setup').set('Origin', 'https://evil.example').send({ username: 'admin', password: 'admin-password-1' }).expect(403);
    expect(evil.body.error.code).toBe('csrf_invalid');
    await test.request().post('/api/setup').set('Sec-Fetch-Site', 'cross-site').send({ username: 'admin', password: 'admin-password-1' }).expect(403);
    expect(userCount(test)).toBe(0);

    await test.request().post('/api/setup').set('Origin', 'https://crew.example.test').send({ username: 'admin', password: 'admin-password-1' }).expect(201);
    await test.request().post('/api/auth/login').set('Origin', 'https://evil.example').send({ username: 'admin', password: 'admin-password-1' }).expect(403);
  });

  it('refuses a page reached through a rebound name (DNS rebinding), and takes the server’s own address', async () => {
    // attacker.example resolving to this server: the browser calls it same-origin, Host and Origin agree.
    const rebound = await test
      .request()
      .post('/api/setup')
      .set({ Host: 'attacker.example:8080', Origin: 'http://attacker.example:8080', 'Sec-Fetch-Site': 'same-origin' })
      .send({ username: 'admin', password: 'admin-password-1' })
      .expect(403);
    expect(rebound.body.error.code).toBe('csrf_invalid');
    expect(userCount(test)).toBe(0);
    // The same server opened by its LAN address instead of PUBLIC_URL still works.
    await test
      .request()
      .post('/api/setup')
      .set({ Host: '192.168.1.20:8080', Origin: 'http://192.168.1.20:8080', 'Sec-Fetch-Site': 'same-origin' })
      .send({ username: 'admin', password: 'admin-password-1' })
      .expect(201);
  });

  it('lets reads through without a token', async () => {
    const admin = await setupAdmin(test);
    await admin.agent.get('/api/users').expect(200);
  });
});

describe('a second session cookie planted by another page (cookie tossing from the runtime origin)', () => {
  const test = platformPerTest();

  it('is refused before either session is used, and every copy the browser sent is cleared', async () => {
    const admin = await setupAdmin(test);
    const planted = (await test.request().post('/api/auth/login').send({ username: 'admin', password: 'admin-password-1' }).expect(200)).headers['set-cookie'] as unknown as string[];
    const own = (await admin.agent.get('/api/me').expect(200)).request.cookies;
    const plantedCookie = planted[0]!.split(';')[0]!;
    // The browser sends the narrower path's cookie first: the planted one would win.
    const response = await test
      .request()
      .post('/api/users')
      .set('Cookie', `${plantedCookie}; ${own}`)
      .set('X-CSRF-Token', admin.csrfToken)
      .send({ username: 'mallory', password: 'mallory-password-1', role: 'admin' })
      .expect(400);
    expect(response.body.error.code).toBe('session_cookie_conflict');
    expect(userCount(test)).toBe(1);
    const cleared = response.headers['set-cookie'] as unknown as string[];
    for (const path of ['/', '/api', '/api/users']) {
      expect(cleared).toContain(`crewclaw.sid=; Path=${path}; Max-Age=0; HttpOnly; SameSite=Lax`);
    }
    // One cookie is the ordinary case.
    await admin.agent.get('/api/me').expect(200);
  });
});
