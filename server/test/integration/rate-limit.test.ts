import { setupAdmin, signIn, startTestPlatform, type TestPlatform } from './support/test-platform';

const login = (test: TestPlatform, username: string, password: string, ip = '203.0.113.10') =>
  test.request().post('/api/auth/login').set('X-Forwarded-For', ip).send({ username, password });

describe('sign-in rate limits', () => {
  let test: TestPlatform;
  afterEach(() => test.close());

  it('blocks a username after too many failures, even with the right password, and says when to retry', async () => {
    test = startTestPlatform({ LOGIN_MAX_FAILURES_PER_USERNAME: '3', LOGIN_MAX_FAILURES_PER_IP: '100', TRUST_PROXY: 'loopback' });
    await setupAdmin(test);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      await login(test, 'admin', 'wrong-password', `203.0.113.${attempt}`).expect(401);
    }
    const blocked = await login(test, 'ADMIN', 'admin-password-1', '203.0.113.99').expect(429);
    expect(blocked.body.error.code).toBe('rate_limited');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    // Another account is not affected.
    await login(test, 'nobody', 'wrong-password', '203.0.113.99').expect(401);
  });

  it('blocks an address that guesses across many usernames', async () => {
    test = startTestPlatform({ LOGIN_MAX_FAILURES_PER_USERNAME: '100', LOGIN_MAX_FAILURES_PER_IP: '4', TRUST_PROXY: 'loopback' });
    await setupAdmin(test);
    for (let attempt = 0; attempt < 4; attempt += 1) {
      await login(test, `user${attempt}`, 'wrong-password').expect(401);
    }
    await login(test, 'admin', 'admin-password-1').expect(429);
    // A different client address still gets in.
    await login(test, 'admin', 'admin-password-1', '198.51.100.7').expect(200);
  });

  it('does not count successful sign-ins', async () => {
    test = startTestPlatform({ LOGIN_MAX_FAILURES_PER_USERNAME: '2', LOGIN_MAX_FAILURES_PER_IP: '2' });
    await setupAdmin(test);
    for (let attempt = 0; attempt < 5; attempt += 1) {
      await signIn(test, 'admin', 'admin-password-1');
    }
  });
});
