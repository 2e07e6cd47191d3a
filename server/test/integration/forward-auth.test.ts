/**
 * The proxy's check (`GET /api/auth/forward`) on the real app: which `X-Forwarded-Uri` names whose
 * runtime. Traefik routes a request by its path after decoding unreserved characters and removing
 * dot segments; the check must agree with that, and refuse what a proxy could read another way.
 * (The whole trip through Traefik to a real runtime is in server/test/docker/runtime-access.test.ts.)
 */
import { MemoryDriver } from '../../src/runtimes/memory-driver';
import { startHealthyDriver } from './support/healthy-driver';
import { ADMIN, createUser, setupAdmin, signIn, startTestPlatform, type SignedIn, type TestPlatform } from './support/test-platform';

/**
 * For one describe block: a platform whose runtimes really start (their gateway a local stand-in),
 * with users alice and bob, filled in before its tests and closed after them.
 */
function usePlatformWithAliceAndBob(env: Record<string, string> = {}): { test: TestPlatform; alice: SignedIn; bob: SignedIn } {
  const stack = {} as { test: TestPlatform; alice: SignedIn; bob: SignedIn };
  let healthy: Awaited<ReturnType<typeof startHealthyDriver>>;
  beforeAll(async () => {
    healthy = await startHealthyDriver();
    stack.test = startTestPlatform(env, { driver: healthy.driver });
    const admin = await setupAdmin(stack.test);
    stack.alice = await createUser(stack.test, admin, 'alice');
    stack.bob = await createUser(stack.test, admin, 'bob');
  });
  afterAll(async () => {
    stack.test.close();
    await healthy.close();
  });
  return stack;
}

/** What Traefik sends to the forwardAuth address for a request to `uri`. */
function asProxy(uri: string | string[], kind: 'page' | 'fetch'): Record<string, string | string[]> {
  return {
    'X-Forwarded-Method': 'GET',
    'X-Forwarded-Proto': 'http',
    'X-Forwarded-Host': 'localhost:8080',
    'X-Forwarded-Uri': uri,
    ...(kind === 'page' ? { Accept: 'text/html', 'Sec-Fetch-Mode': 'navigate' } : { Accept: '*/*', 'Sec-Fetch-Mode': 'cors' }),
  };
}

describe('forward-auth: which runtime a forwarded path names', () => {
  const stack = usePlatformWithAliceAndBob();
  let test: TestPlatform;
  let alice: SignedIn;
  let bob: SignedIn;

  beforeAll(async () => {
    ({ test, alice, bob } = stack);
    // Both runtimes running: a path that slips through would be answered 200 with an identity.
    for (const who of [alice, bob]) {
      const started = await who.agent.post('/api/runtime/start').set('X-CSRF-Token', who.csrfToken).expect(200);
      expect(started.body.runtime.state).toBe('running');
    }
  });

  describe('paths that name the signed-in user’s runtime get through', () => {
    it.each([
      ['the runtime itself', '/u/alice'],
      ['its root', '/u/alice/'],
      ['a page with a query', '/u/alice/chat?session=main'],
      ['a query holding dots and encoded slashes (the query is not the path)', '/u/alice/api?path=../bob/%2e%2e%2fx'],
      ['dot segments that stay inside it', '/u/alice/a/./b/../c'],
      ['doubled slashes inside it', '/u/alice//assets//app.js'],
      ['encoded unreserved letters (Traefik decodes them)', '/u/%61lice/%63hat'],
      ['other encoded characters below it', '/u/alice/files/a%20b%3Fc.txt'],
    ])('%s: %s', async (_label, uri) => {
      const response = await alice.agent.get('/api/auth/forward').set(asProxy(uri, 'fetch')).expect(200);
      expect(response.headers['x-forwarded-user']).toBe('alice');
      expect(response.headers['cache-control']).toBe('no-store');
    });
  });

  describe('the answers for ordinary paths are kept', () => {
    it('sends a page load by someone not signed in to the web UI, with the path to come back to', async () => {
      const page = await test.request().get('/api/auth/forward').set(asProxy('/u/alice/chat?session=main', 'page')).expect(302);
      expect(page.headers.location).toBe(`http://localhost:8080/?next=${encodeURIComponent('/u/alice/chat?session=main')}`);
      expect(page.headers['x-forwarded-user']).toBeUndefined();
    });

    it('comes back to the path as the proxy routes it', async () => {
      const page = await test.request().get('/api/auth/forward').set(asProxy('/u/alice/a/../chat', 'page')).expect(302);
      expect(page.headers.location).toBe(`http://localhost:8080/?next=${encodeURIComponent('/u/alice/chat')}`);
    });

    it('answers a script that is not signed in 401', async () => {
      const script = await test.request().get('/api/auth/forward').set(asProxy('/u/alice/api/x', 'fetch')).expect(401);
      expect(script.body.error.code).toBe('unauthorized');
    });

    it.each([['another user’s runtime', '/u/bob/'], ['no user’s runtime', '/u/nobody/'], ['a name that is not a username', '/u/Bob/'], ['no runtime at all', '/api/users'], ['a path that is not one', '*']])(
      'answers %s 404, like a runtime that does not exist',
      async (_label, uri) => {
        const script = await alice.agent.get('/api/auth/forward').set(asProxy(uri, 'fetch')).expect(404);
        expect(script.body.error.code).toBe('not_found');
        expect(script.headers['x-forwarded-user']).toBeUndefined();
        // A page load shows our 404 page (the body goes to the browser as Traefik got it).
        const page = await alice.agent.get('/api/auth/forward').set(asProxy(uri, 'page')).expect(404);
        expect(page.headers['content-type']).toMatch(/^text\/html/);
        expect(page.text).toContain('data-page="not_found"');
        expect(page.text).toContain('href="http://localhost:8080/"');
        expect(page.headers['x-forwarded-user']).toBeUndefined();
      },
    );
  });

  // Each of these names alice's runtime to a reader that takes it at face value, and bob's (or no
  // runtime, or a guess) to one that cleans or decodes it: nobody may be let through on it.
  const tricks: [string, string][] = [
    ['a .. segment', '/u/alice/../bob/'],
    ['a .. segment at the end', '/u/alice/../bob'],
    ['a .. segment climbing out of a deeper path', '/u/alice/x/../../bob/'],
    ['a . and a .. segment', '/u/alice/./../bob/'],
    ['an empty segment before ..', '/u/alice//../bob/'],
    ['a .. out of the runtime to nothing', '/u/alice/..'],
    ['%2e%2e', '/u/alice/%2e%2e/bob/'],
    ['%2E%2E', '/u/alice/%2E%2E/bob/'],
    ['.%2e', '/u/alice/.%2e/bob/'],
    ['..%2f (an encoded slash)', '/u/alice/..%2fbob/'],
    ['%2F (an encoded slash)', '/u/alice%2F..%2F..%2Fu%2Fbob/'],
    ['a backslash', '/u/alice/..\\bob/'],
    ['%5c (an encoded backslash)', '/u/alice/..%5cbob/'],
    ['a double encoding (%252e)', '/u/alice/%252e%252e/bob/'],
    ['a ;parameter on ..', '/u/alice/..;/bob/'],
    ['a ;parameter on an encoded ..', '/u/alice/%2e%2e;x/bob/'],
    ['an encoded ;', '/u/alice/..%3b/bob/'],
    ['an encoded NUL', '/u/alice/%00/../bob/'],
    ['a fragment', '/u/alice/#/../../bob/'],
    ['a malformed escape', '/u/alice/%zz/../bob/'],
    ['a truncated escape', '/u/alice/%2'],
    ['a raw character outside ASCII (Traefik would have escaped it)', '/u/alice/caf\u00e9/'],
    ['a runtime name reached through another path', '/api/../u/alice/'],
    ['a runtime name after an empty segment', '//u/alice/'],
    ['a runtime name after a . segment', '/u/./alice/'],
  ];

  describe('paths a proxy could read another way are refused, for everyone', () => {
    it.each(tricks)('%s: %s', async (_label, uri) => {
      for (const who of [alice, bob]) {
        for (const kind of ['page', 'fetch'] as const) {
          const response = await who.agent.get('/api/auth/forward').set(asProxy(uri, kind));
          // A script gets our JSON error; a page load our page saying the same, in the browser's language.
          const code = kind === 'fetch' ? response.body.error?.code : /data-page="([a-z_]+)"/.exec(response.text)?.[1];
          expect({ status: response.status, code }).toEqual({ status: 400, code: kind === 'fetch' ? 'ambiguous_path' : 'ambiguous' });
          expect(response.headers['x-forwarded-user']).toBeUndefined();
        }
      }
      const anonymous = await test.request().get('/api/auth/forward').set(asProxy(uri, 'page'));
      expect(anonymous.status).toBe(400);
      expect(anonymous.headers.location).toBeUndefined();
    });
  });

  describe('two X-Forwarded-Uri headers are never read as one', () => {
    it.each([
      ['own runtime first', ['/u/alice/', '/u/bob/']],
      ['own runtime twice', ['/u/alice/', '/u/alice/']],
      ['one of them empty', ['/u/alice/', '']],
    ])('%s: refused', async (_label, uris) => {
      const response = await alice.agent.get('/api/auth/forward').set(asProxy(uris, 'fetch'));
      expect({ status: response.status, code: response.body.error?.code }).toEqual({ status: 400, code: 'duplicate_header' });
      expect(response.headers['x-forwarded-user']).toBeUndefined();
    });

    it('refuses two X-Forwarded-Method headers as well', async () => {
      const response = await alice.agent
        .get('/api/auth/forward')
        .set({ ...asProxy('/u/alice/', 'fetch'), 'X-Forwarded-Method': ['GET', 'POST'] })
        .expect(400);
      expect(response.body.error.code).toBe('duplicate_header');
    });
  });
});

describe('the runtime origin’s fallback: paths no runtime route matched', () => {
  const stack = usePlatformWithAliceAndBob();
  let test: TestPlatform;
  let alice: SignedIn;
  let bob: SignedIn;

  beforeAll(() => {
    ({ test, alice, bob } = stack);
  });

  /** What Traefik's fallback router sends for a request to `path` on the runtime origin. */
  const fallback = (agent: SignedIn['agent'], path: string, kind: 'page' | 'fetch', query = '') =>
    agent
      .get(`/api/auth/runtime-fallback${query}`)
      .set({ 'X-Replaced-Path': path, ...(kind === 'page' ? { Accept: 'text/html', 'Sec-Fetch-Mode': 'navigate' } : { Accept: '*/*', 'Sec-Fetch-Mode': 'cors' }) });
  const pageOf = (text: string) => /data-page="([a-z_]+)"/.exec(text)?.[1];

  it('sends the bare origin to the platform', async () => {
    const response = await fallback(test.request(), '/', 'page').expect(302);
    expect(response.headers.location).toBe('http://localhost:8080/');
  });

  it('sends someone not signed in to sign in, with the path and query to come back to', async () => {
    const response = await fallback(test.request(), '/u/alice/chat', 'page', '?session=main').expect(302);
    expect(response.headers.location).toBe(`http://localhost:8080/?next=${encodeURIComponent('/u/alice/chat?session=main')}`);
    await fallback(test.request(), '/u/alice/', 'fetch').expect(401);
  });

  it('sends the owner of a stopped runtime to the web UI to start it, and never starts it itself', async () => {
    const page = await fallback(alice.agent, '/u/alice/', 'page').expect(302);
    expect(page.headers.location).toBe(`http://localhost:8080/?next=${encodeURIComponent('/u/alice/')}`);
    // The Control UI's WebSocket retrying after an idle stop: refused, and the runtime stays stopped.
    const socket = await fallback(alice.agent, '/u/alice', 'fetch').expect(503);
    expect(socket.body.error.code).toBe('runtime_not_running');
    expect((await alice.agent.get('/api/runtime').expect(200)).body.runtime.state).toBe('absent');
  });

  it('shows the owner of a running runtime that is not routed yet a page that reloads', async () => {
    await alice.agent.post('/api/runtime/start').set('X-CSRF-Token', alice.csrfToken).expect(200);
    const page = await fallback(alice.agent, '/u/alice/', 'page').expect(503);
    expect(pageOf(page.text)).toBe('opening');
    expect(page.text).toContain('http-equiv="refresh"');
    const script = await fallback(alice.agent, '/u/alice/', 'fetch').expect(503);
    expect(script.body.error.code).toBe('runtime_starting');
  });

  it.each([
    ['another user’s runtime', '/u/alice/'],
    ['no user’s runtime', '/u/nobody/'],
    ['a name in capitals', '/u/Alice/'],
    ['the platform’s API', '/api/me'],
    ['anything else', '/favicon.ico'],
  ])('answers %s with our 404 page, in the browser’s language', async (_label, path) => {
    const english = await fallback(bob.agent, path, 'page').expect(404);
    expect(pageOf(english.text)).toBe('not_found');
    expect(english.text).toContain('No runtime here');
    const chinese = await fallback(bob.agent, path, 'page').set('Accept-Language', 'zh-CN,zh;q=0.9,en;q=0.5').expect(404);
    expect(chinese.text).toContain('这里没有运行时');
    expect(chinese.text).toContain('lang="zh-CN"');
    const script = await fallback(bob.agent, path, 'fetch').expect(404);
    expect(script.body.error.code).toBe('not_found');
  });

  it('refuses a path that reads two ways, and two X-Replaced-Path headers', async () => {
    expect(pageOf((await fallback(bob.agent, '/u/bob/..%2falice/', 'page').expect(400)).text)).toBe('ambiguous');
    const twice = await bob.agent.get('/api/auth/runtime-fallback').set({ 'X-Replaced-Path': ['/u/bob/', '/u/alice/'] }).expect(400);
    expect(twice.body.error.code).toBe('duplicate_header');
  });

  it('changes nothing: a POST there is refused without a CSRF token', async () => {
    const response = await bob.agent.post('/api/auth/runtime-fallback').set('X-Replaced-Path', '/api/me/password').send({ password: 'x' });
    expect(response.status).toBe(403);
  });
});

describe('the platform origin and /u/<user>', () => {
  it('sends links to a runtime on to the runtime origin, path and query kept', async () => {
    const test = startTestPlatform({ PUBLIC_URL: 'http://crew.test:8080', RUNTIME_URL: 'http://crew.test:8081' }, { driver: new MemoryDriver() });
    try {
      for (const [path, location] of [
        ['/u/alice/chat?session=main', 'http://crew.test:8081/u/alice/chat?session=main'],
        ['/u', 'http://crew.test:8081/u'],
      ] as const) {
        const response = await test.request().get(path);
        expect([path, response.status, response.headers.location]).toEqual([path, 302, location]);
      }
      // Only /u and below: /users is the web UI's, not a runtime's.
      expect((await test.request().get('/users')).headers.location).toBeUndefined();
    } finally {
      test.close();
    }
  });
});

describe('per-user subdomains: each runtime on a host of its own, signed in to with a one-time code', () => {
  const PUBLIC = 'http://crew.test:8080';
  const stack = usePlatformWithAliceAndBob({ PUBLIC_URL: PUBLIC, RUNTIME_URL: 'http://*.crew.test:8080' });
  let test: TestPlatform;
  let alice: SignedIn;
  let bob: SignedIn;

  beforeAll(async () => {
    ({ test, alice, bob } = stack);
    await alice.agent.post('/api/runtime/start').set('X-CSRF-Token', alice.csrfToken).expect(200);
  });

  /** What Traefik sends to the forwardAuth address for a request to `uri` on `host`, with the host's own cookies. */
  const forward = (host: string, uri: string, kind: 'page' | 'fetch', cookie?: string) =>
    test
      .request()
      .get('/api/auth/forward')
      // This test platform trusts no proxy: the host is read from Host, as from X-Forwarded-Host behind Traefik.
      .set({ ...asProxy(uri, kind), Host: host, ...(cookie ? { Cookie: cookie } : {}) });

  /** Alice's trip from the platform to her runtime host: the code, redeemed there, gives the host's cookie. */
  async function signInToHost(who: SignedIn, next: string): Promise<{ cookie: string; location: string }> {
    const start = await who.agent.get(`/api/auth/runtime-sign-in?next=${encodeURIComponent(next)}`).expect(302);
    const target = new URL(String(start.headers.location));
    const redeemed = await forward(target.host, target.pathname + target.search, 'page').expect(302);
    const setCookie = ([] as string[]).concat(redeemed.headers['set-cookie'] ?? []);
    return { cookie: setCookie[0]?.split(';')[0] ?? '', location: String(redeemed.headers.location) };
  }

  it('opens the Control UI at the root of the user’s own host', async () => {
    const { runtime } = (await alice.agent.get('/api/runtime').expect(200)).body;
    expect(runtime.controlUiUrl).toBe('http://alice.crew.test:8080/');
  });

  it('hands a signed-in user over to their host with a code, which becomes a cookie of that host only', async () => {
    const start = await alice.agent.get(`/api/auth/runtime-sign-in?next=${encodeURIComponent('/u/alice/chat?session=main')}`).expect(302);
    const target = new URL(String(start.headers.location));
    expect(target.origin).toBe('http://alice.crew.test:8080');
    expect(target.pathname).toBe('/__crewclaw/sign-in');
    expect(target.searchParams.get('next')).toBe('/chat?session=main');
    expect(start.headers['cache-control']).toBe('no-store');

    const redeemed = await forward('alice.crew.test:8080', target.pathname + target.search, 'page').expect(302);
    expect(redeemed.headers.location).toBe('http://alice.crew.test:8080/chat?session=main');
    expect(redeemed.headers['x-forwarded-user']).toBeUndefined();
    const [setCookie] = ([] as string[]).concat(redeemed.headers['set-cookie'] ?? []);
    expect(setCookie).toMatch(/^crewclaw\.runtime=[A-Za-z0-9_-]{43};/);
    expect(String(setCookie).split('; ').slice(1).filter((part) => !/^(Max-Age|Expires)=/.test(part)).sort()).toEqual(['HttpOnly', 'Path=/', 'SameSite=Lax']);

    const cookie = String(setCookie).split(';')[0];
    const through = await forward('alice.crew.test:8080', '/chat?session=main', 'fetch', cookie).expect(200);
    expect(through.headers['x-forwarded-user']).toBe('alice');
    // The code is spent.
    const again = await forward('alice.crew.test:8080', target.pathname + target.search, 'page').expect(400);
    expect(/data-page="([a-z_]+)"/.exec(again.text)?.[1]).toBe('sign_in_expired');
  });

  it('refuses a code on another user’s host, and spends it there', async () => {
    const start = await alice.agent.get(`/api/auth/runtime-sign-in?next=${encodeURIComponent('/u/alice/')}`).expect(302);
    const target = new URL(String(start.headers.location));
    const elsewhere = await forward('bob.crew.test:8080', target.pathname + target.search, 'fetch').expect(401);
    expect(elsewhere.headers['set-cookie']).toBeUndefined();
    await forward('alice.crew.test:8080', target.pathname + target.search, 'page').expect(400);
  });

  it('sends a page load without the host’s cookie to sign in on the platform, even with the platform’s own cookie', async () => {
    const page = await forward('alice.crew.test:8080', '/chat?session=main', 'page').expect(302);
    expect(page.headers.location).toBe(`${PUBLIC}/api/auth/runtime-sign-in?next=${encodeURIComponent('/u/alice/chat?session=main')}&returning=1`);
    await forward('alice.crew.test:8080', '/chat', 'fetch').expect(401);
    // A platform session cookie on a runtime host (planted there for the whole domain) signs nobody in.
    const planted = await alice.agent.get('/api/auth/forward').set({ ...asProxy('/chat', 'fetch'), Host: 'alice.crew.test:8080' }).expect(401);
    expect(planted.headers['x-forwarded-user']).toBeUndefined();
  });

  it('lets a host’s cookie into that host only: on another user’s host it is a runtime that does not exist', async () => {
    const { cookie } = await signInToHost(alice, '/u/alice/');
    const other = await forward('bob.crew.test:8080', '/', 'page', cookie).expect(302);
    // Alice has no sign-in there: she is sent to get one, which the platform refuses (her session is not bob's).
    const signInStep = new URL(String(other.headers.location));
    const refused = await alice.agent.get(signInStep.pathname + signInStep.search).expect(404);
    expect(refused.text).toContain('data-page="not_found"');
    // A copy of bob's cookie set for the whole domain next to alice's own on her host changes nothing.
    const { cookie: bobs } = await signInToHost(bob, '/u/bob/');
    const both = await forward('alice.crew.test:8080', '/', 'fetch', `${bobs}; ${cookie}`).expect(200);
    expect(both.headers['x-forwarded-user']).toBe('alice');
    await forward('alice.crew.test:8080', '/', 'fetch', bobs).expect(401);
  });

  it.each([['the platform’s own host', 'crew.test:8080'], ['a name that is not a username', 'Bad_Name.crew.test:8080'], ['a deeper name', 'a.alice.crew.test:8080']])(
    'answers %s as no runtime',
    async (_label, host) => {
      const { cookie } = await signInToHost(alice, '/u/alice/');
      await forward(host, '/', 'fetch', cookie).expect(404);
    },
  );

  it('ends the host’s sign-in with the platform session it came from', async () => {
    const carol = await createUser(test, await signIn(test, ADMIN.username, ADMIN.password), 'carol');
    await carol.agent.post('/api/runtime/start').set('X-CSRF-Token', carol.csrfToken).expect(200);
    const { cookie } = await signInToHost(carol, '/u/carol/');
    await forward('carol.crew.test:8080', '/', 'fetch', cookie).expect(200);
    await carol.agent.post('/api/auth/logout').set('X-CSRF-Token', carol.csrfToken).expect(204);
    await forward('carol.crew.test:8080', '/', 'fetch', cookie).expect(401);
  });

  it('ends the host’s sign-in when its owner changes their password, and after one session lifetime however much it is used', async () => {
    const { cookie } = await signInToHost(alice, '/u/alice/');
    await forward('alice.crew.test:8080', '/', 'fetch', cookie).expect(200);
    await alice.agent.patch('/api/me/password').set('X-CSRF-Token', alice.csrfToken).send({ currentPassword: 'alice-password', newPassword: 'alice-password-2' }).expect(204);
    await forward('alice.crew.test:8080', '/', 'fetch', cookie).expect(401);
    // The browser that changed it is still signed in on the platform and signs in to its host again.
    const again = await signInToHost(alice, '/u/alice/');
    await forward('alice.crew.test:8080', '/', 'fetch', again.cookie).expect(200);
    test.database.sqlite.prepare('UPDATE runtime_host_sessions SET created_at = ?').run(Date.now() - test.config.sessionTtlHours * 3_600_000 - 1000);
    await forward('alice.crew.test:8080', '/', 'fetch', again.cookie).expect(401);
  });

  it('shows a page instead of going round when the browser does not keep the host’s cookie', async () => {
    await signInToHost(alice, '/u/alice/');
    // The host sends the browser straight back (no cookie came with the next request).
    const back = await forward('alice.crew.test:8080', '/', 'page').expect(302);
    const step = new URL(String(back.headers.location));
    const page = await alice.agent.get(step.pathname + step.search).expect(400);
    expect(page.text).toContain('data-page="cookies_refused"');
    // The web UI's own way in is never taken for that.
    await alice.agent.get(`/api/auth/runtime-sign-in?next=${encodeURIComponent('/u/alice/')}`).expect(302);
  });

  it('keeps a few pending codes per session: one session cannot push out everyone else’s', async () => {
    const codes: string[] = [];
    for (let i = 0; i < 6; i += 1) {
      const start = await bob.agent.get(`/api/auth/runtime-sign-in?next=${encodeURIComponent('/u/bob/')}`).expect(302);
      codes.push(new URL(String(start.headers.location)).search);
    }
    await forward('bob.crew.test:8080', `/__crewclaw/sign-in${codes[0]}`, 'fetch').expect(401);
    await forward('bob.crew.test:8080', `/__crewclaw/sign-in${codes[5]}`, 'page').expect(302);
  });

  it('the platform’s sign-in step: sign in first, only to one’s own runtime, never to another site', async () => {
    const anonymous = await test.request().get(`/api/auth/runtime-sign-in?next=${encodeURIComponent('/u/alice/chat')}`).expect(302);
    expect(anonymous.headers.location).toBe(`${PUBLIC}/?next=${encodeURIComponent('/u/alice/chat')}`);
    expect((await bob.agent.get(`/api/auth/runtime-sign-in?next=${encodeURIComponent('/u/alice/')}`).expect(404)).text).toContain('data-page="not_found"');
    for (const next of ['https://evil.test/', '//evil.test/u/alice/', '/api/me', '']) {
      const response = await alice.agent.get(`/api/auth/runtime-sign-in?next=${encodeURIComponent(next)}`);
      expect([next, response.status, response.headers.location]).toEqual([next, 404, undefined]);
    }
    expect((await alice.agent.get(`/api/auth/runtime-sign-in?next=${encodeURIComponent('/u/alice/..%2fbob/')}`).expect(400)).text).toContain('data-page="ambiguous"');
  });

  it('redeems only a path on the same host: a next that would leave it goes to the root', async () => {
    for (const next of ['//evil.test/', '/\\evil.test/', 'https://evil.test/']) {
      const start = await alice.agent.get(`/api/auth/runtime-sign-in?next=${encodeURIComponent('/u/alice/')}`).expect(302);
      const code = new URL(String(start.headers.location)).searchParams.get('code') ?? '';
      const query = new URLSearchParams({ code, next });
      const redeemed = await forward('alice.crew.test:8080', `/__crewclaw/sign-in?${query.toString()}`, 'page').expect(302);
      expect([next, redeemed.headers.location]).toEqual([next, 'http://alice.crew.test:8080/']);
    }
  });

  it('sends a stopped runtime’s host to the web UI to start it, through the fallback', async () => {
    const { cookie } = await signInToHost(bob, '/u/bob/');
    const page = await test
      .request()
      .get('/api/auth/runtime-fallback?session=main')
      .set({ 'X-Replaced-Path': '/chat', Host: 'bob.crew.test:8080', Cookie: cookie, Accept: 'text/html', 'Sec-Fetch-Mode': 'navigate' })
      .expect(302);
    expect(page.headers.location).toBe(`${PUBLIC}/?next=${encodeURIComponent('/u/bob/chat?session=main')}`);
  });

  it('sends old /u/<user> links to the user’s host', async () => {
    const response = await test.request().get('/u/alice/chat?session=main').expect(302);
    expect(response.headers.location).toBe('http://alice.crew.test:8080/chat?session=main');
  });
});
