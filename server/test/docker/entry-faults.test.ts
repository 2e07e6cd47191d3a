/**
 * The entry layer under faults, as users run it: compose.yaml brought up by `docker compose` (Traefik
 * and the control plane's image, a project of this test's own on free ports) and a real OpenClaw
 * runtime behind forward-auth. Each test sends what a broken client, a hostile client or a bad day
 * sends (an enormous path, a burst of requests, forged Host and X-Forwarded-* headers, a runtime
 * removed behind the platform's back, a runtime that sets a cookie) and asserts what the user would see.
 */
import { spawnSync } from 'node:child_process';
import { SESSION_COOKIE } from '../../src/auth/session';
import { FORWARD_AUTH_MIDDLEWARE, routingLabels } from '../../src/proxy/routing-labels';
import { runtimeAddressing } from '../../src/proxy/runtime-address';
import { GATEWAY_PORT, LABELS } from '../../src/runtimes/runtime-names';
import { ADMIN } from '../integration/support/test-platform';
import { type ComposeStack, type Session, call, controlUiLoads, setUpUsers, sleep, until, upHttpStack } from './support/compose-stack';
import { PREFIX, TEST_LABEL, containerName, docker, printingLogsOnFailure } from './support/docker-platform';

jest.setTimeout(600_000);

/** Set in the stack's settings below, so the test does not lean on a default that may move. */
const MAX_FAILURES_PER_IP = 20;
const MAX_FAILURES_PER_USERNAME = 10;

/** What came back, read to the end: a status and body, or how the connection failed. */
interface Outcome {
  status: number | null;
  body: string;
  headers: Headers | null;
  error: string | null;
  ms: number;
}

/** One line for an assertion's message: `431`, or `error: terminated (UND_ERR_SOCKET)`. */
const shown = (outcome: Outcome) => (outcome.error ? `${outcome.status ?? 'no status'}, then error: ${outcome.error}` : String(outcome.status));

describe('the entry layer under faults: Traefik in front, as compose runs it', () => {
  let stack: ComposeStack;
  let platformUrl: string;
  let runtimeUrl: string;
  let admin: Session;
  let bob: Session;

  /** Like `call`, but a connection cut, a reset or a hang is an answer too, not a thrown error. */
  async function outcomeOf(url: string, init: RequestInit & { session?: Session; timeoutMs?: number } = {}): Promise<Outcome> {
    const began = Date.now();
    let response: Response | null = null;
    try {
      response = await call(url, init);
      const body = await response.text();
      return { status: response.status, body, headers: response.headers, error: null, ms: Date.now() - began };
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      const message = `${(error as Error).message}${cause?.code ? ` (${cause.code})` : ''}`;
      return { status: response?.status ?? null, body: '', headers: response?.headers ?? null, error: message, ms: Date.now() - began };
    }
  }

  const isControlUi = (outcome: Outcome) => outcome.status === 200 && /openclaw/i.test(outcome.body);

  /** Runs a test body and, when it fails, prints what Traefik and the control plane logged meanwhile. */
  async function printingEntryLogsOnFailure(body: () => Promise<void>): Promise<void> {
    const since = new Date().toISOString();
    try {
      await body();
    } catch (error) {
      for (const container of [`${PREFIX}-proxy`, `${PREFIX}-control-plane`]) {
        // Traefik writes its log to stderr.
        const logs = spawnSync('docker', ['logs', '--since', since, '--tail', '20', container], { encoding: 'utf8' });
        const text = `${logs.stdout ?? ''}${logs.stderr ?? ''}`.replace(/a{200,}/g, (run) => `a×${run.length}`);
        console.error(`--- logs of ${container} ---\n${text || '(nothing)'}`);
      }
      throw error;
    }
  }

  /** The control plane's own answers carry a request id (STYLE.md, Errors); Traefik's do not. */
  const fromControlPlane = (outcome: Outcome) => Boolean(outcome.headers?.get('x-request-id'));

  beforeAll(async () => {
    ({ stack, platformUrl, runtimeUrl } = await upHttpStack({
      LOGIN_MAX_FAILURES_PER_IP: String(MAX_FAILURES_PER_IP),
      LOGIN_MAX_FAILURES_PER_USERNAME: String(MAX_FAILURES_PER_USERNAME),
    }));
    ({ admin, bob } = await setUpUsers(platformUrl));
    const started = await call(`${platformUrl}/api/runtime/start`, { method: 'POST', session: admin, timeoutMs: 300_000 });
    expect(started.status).toBe(200);
    await controlUiLoads(runtimeUrl, admin, ADMIN.username);
  });

  afterAll(() => stack?.down());

  describe('a very long path gets a clear 4xx, and the stack keeps working', () => {
    // Longer than the 32 KiB of request headers Traefik takes (compose.yaml): below that, a long path is
    // an ordinary request, answered as any other.
    const sizes: [string, number][] = [
      ['40 KiB', 40 * 1024],
      ['64 KiB', 64 * 1024],
      ['1 MiB', 1024 * 1024],
    ];

    it.each(sizes)('on the runtime origin: %s of path under /u/<user>/', async (_label, size) => {
      await printingEntryLogsOnFailure(async () => {
        // Signed in as the owner, so nothing but the length stands between the request and the runtime.
        const outcome = await outcomeOf(`${runtimeUrl}/u/admin/${'a'.repeat(size)}`, { session: admin, headers: { Accept: 'text/html' }, timeoutMs: 20_000 });
        expect(shown(outcome)).toMatch(/^(400|414|431)$/);
        expect(outcome.body).not.toMatch(/openclaw/i);
        // The next ordinary request is served as usual.
        expect(isControlUi(await outcomeOf(`${runtimeUrl}/u/admin/`, { session: admin, headers: { Accept: 'text/html' } }))).toBe(true);
      });
    });

    it.each(sizes)('on the platform origin: %s of path, under /u/<user>/ and under /api/', async (_label, size) => {
      await printingEntryLogsOnFailure(async () => {
        const prefixes = ['/u/admin/', '/api/', '/'];
        const seen: [string, string, string][] = [];
        for (const prefix of prefixes) {
          const outcome = await outcomeOf(`${platformUrl}${prefix}${'a'.repeat(size)}`, { session: admin, headers: { Accept: 'text/html' }, timeoutMs: 20_000 });
          // The next ordinary request is served as usual.
          const health = await outcomeOf(`${platformUrl}/api/health`);
          seen.push([prefix, shown(outcome), `then /api/health: ${shown(health)} ${health.body}`]);
        }
        expect(seen).toEqual(prefixes.map((prefix) => [prefix, expect.stringMatching(/^(400|414|431)$/), 'then /api/health: 200 {"status":"ok"}']));
      });
    });
  });

  it("answers 200 concurrent requests for a runtime's Control UI, and the control plane stays responsive", async () => {
    await printingLogsOnFailure(['admin'], async () => {
      let bursting = true;
      const health: Outcome[] = [];
      const polling = (async () => {
        while (bursting) {
          health.push(await outcomeOf(`${platformUrl}/api/health`, { timeoutMs: 5_000 }));
          await sleep(100);
        }
      })();
      const began = Date.now();
      const outcomes = await Promise.all(
        Array.from({ length: 200 }, () => outcomeOf(`${runtimeUrl}/u/admin/`, { session: admin, headers: { Accept: 'text/html' }, timeoutMs: 60_000 })),
      );
      const elapsed = Date.now() - began;
      bursting = false;
      await polling;

      const tally: Record<string, number> = {};
      for (const outcome of outcomes) tally[shown(outcome)] = (tally[shown(outcome)] ?? 0) + 1;
      expect(tally).toEqual({ 200: 200 });
      expect(outcomes.every(isControlUi)).toBe(true);
      expect(elapsed).toBeLessThan(30_000);
      // Each health check made while the burst went on came back, quickly.
      expect(health.length).toBeGreaterThan(0);
      expect(health.filter((outcome) => outcome.status !== 200 || outcome.ms > 5_000).map((outcome) => `${shown(outcome)} in ${outcome.ms} ms`)).toEqual([]);
    });
  });

  describe('a forged Host header', () => {
    const forgedHosts = () => ['evil.example', `127.0.0.1:${stack.ports.http}`, `localhost:${stack.ports.http}`, 'control-plane:3000', `${containerName('admin')}:18789`];

    it("on the runtime origin reaches neither another user's runtime nor the platform's API, and sign-in stays on PUBLIC_URL", async () => {
      for (const host of forgedHosts()) {
        const other = await outcomeOf(`${runtimeUrl}/u/admin/`, { session: bob, headers: { Host: host, Accept: 'text/html' } });
        expect([host, other.status]).toEqual([host, 404]);
        expect(other.body).not.toMatch(/openclaw/i);

        for (const api of ['/api/me', '/api/health', '/api/users']) {
          const reached = await outcomeOf(`${runtimeUrl}${api}`, { session: admin, headers: { Host: host } });
          expect([host, api, reached.status]).toEqual([host, api, 404]);
          expect(reached.body).not.toMatch(/"role"|"status":"ok"/);
        }

        const visitor = await outcomeOf(`${runtimeUrl}/u/admin/chat?session=main`, { headers: { Host: host, Accept: 'text/html', 'Sec-Fetch-Mode': 'navigate' } });
        expect([host, visitor.status, visitor.headers?.get('location')]).toEqual([host, 302, `${platformUrl}/?next=${encodeURIComponent('/u/admin/chat?session=main')}`]);
      }
      // The owner's own runtime is still the owner's, whatever the Host.
      expect(isControlUi(await outcomeOf(`${runtimeUrl}/u/admin/`, { session: admin, headers: { Host: 'evil.example', Accept: 'text/html' } }))).toBe(true);
    });

    it("on the platform origin gets the control plane's usual answers, its redirects on RUNTIME_URL", async () => {
      for (const host of [...forgedHosts(), `127.0.0.1:${stack.ports.runtime}`]) {
        const health = await outcomeOf(`${platformUrl}/api/health`, { headers: { Host: host } });
        expect([host, health.status, health.body]).toEqual([host, 200, JSON.stringify({ status: 'ok' })]);

        const me = await outcomeOf(`${platformUrl}/api/me`, { session: admin, headers: { Host: host } });
        expect([host, me.status]).toEqual([host, 200]);
        expect(me.body).not.toMatch(/openclaw/i);

        const webUi = await outcomeOf(`${platformUrl}/`, { headers: { Host: host, Accept: 'text/html' } });
        expect([host, webUi.status, webUi.headers?.get('x-request-id') ? 'control plane' : 'elsewhere']).toEqual([host, 200, 'control plane']);
        expect(webUi.body).not.toMatch(/data-openclaw-control-ui/);

        // Never the runtime itself here: a link is sent to the runtime origin as configured, not to the Host.
        const moved = await outcomeOf(`${platformUrl}/u/admin/chat?session=main`, { session: admin, headers: { Host: host, Accept: 'text/html' } });
        expect([host, moved.status, moved.headers?.get('location')]).toEqual([host, 302, `${runtimeUrl}/u/admin/chat?session=main`]);
        expect(moved.body).not.toMatch(/openclaw/i);
      }
    });
  });

  describe('forged X-Forwarded-* headers from the client', () => {
    const forged = {
      'X-Forwarded-Host': 'evil.example',
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Port': '443',
      'X-Forwarded-For': '203.0.113.7',
      'X-Real-Ip': '203.0.113.7',
      Forwarded: 'for=203.0.113.7;host=evil.example;proto=https',
    };

    it('change no redirect target', async () => {
      const visitor = await outcomeOf(`${runtimeUrl}/u/admin/chat?session=main`, { headers: { ...forged, Accept: 'text/html', 'Sec-Fetch-Mode': 'navigate' } });
      expect([visitor.status, visitor.headers?.get('location')]).toEqual([302, `${platformUrl}/?next=${encodeURIComponent('/u/admin/chat?session=main')}`]);
      const moved = await outcomeOf(`${platformUrl}/u/admin/chat?session=main`, { session: admin, headers: { ...forged, Accept: 'text/html' } });
      expect([moved.status, moved.headers?.get('location')]).toEqual([302, `${runtimeUrl}/u/admin/chat?session=main`]);
    });

    it('do not make the session cookie Secure over plain http, where the browser would then drop it', async () => {
      const response = await call(`${platformUrl}/api/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...forged },
        body: JSON.stringify({ username: 'bob', password: 'bob-password-1' }),
      });
      expect(response.status).toBe(200);
      const cookies = response.headers.getSetCookie();
      expect(cookies.length).toBeGreaterThan(0);
      for (const cookie of cookies) expect(cookie).not.toMatch(/;\s*secure/i);
    });
  });

  it('serves our answer, not a lasting proxy error, when a runtime is removed behind the platform\'s back; a start brings the Control UI back', async () => {
    await printingLogsOnFailure(['admin'], async () => {
      docker('rm', '-f', containerName('admin'));
      const removedAt = Date.now();
      const seen: { at: number; accept: string; outcome: Outcome }[] = [];
      while (Date.now() - removedAt < 12_000) {
        for (const accept of ['text/html', 'application/json']) {
          const headers: Record<string, string> = accept === 'text/html' ? { Accept: accept, 'Sec-Fetch-Mode': 'navigate' } : { Accept: accept };
          seen.push({ at: Date.now() - removedAt, accept, outcome: await outcomeOf(`${runtimeUrl}/u/admin/`, { session: admin, headers, timeoutMs: 10_000 }) });
        }
        await sleep(250);
      }
      // The platform's own answers: a page load goes to the web UI (which starts the runtime and comes
      // back), a script is told to wait or that there is nothing there, in our error shape or our page;
      // or, once a new runtime is up, the Control UI itself.
      const ours = ({ accept, outcome }: (typeof seen)[number]) => {
        if (isControlUi(outcome)) return true;
        if (!fromControlPlane(outcome) || outcome.error) return false;
        if (outcome.status === 302) return accept === 'text/html' && outcome.headers?.get('location') === `${platformUrl}/?next=${encodeURIComponent('/u/admin/')}`;
        if (outcome.status !== 503 && outcome.status !== 404) return false;
        if (accept === 'text/html') return true;
        try {
          const code = (JSON.parse(outcome.body) as { error?: { code?: string } }).error?.code;
          return code === 'runtime_starting' || code === 'not_found';
        } catch {
          return false;
        }
      };
      const line = ({ at, accept, outcome }: (typeof seen)[number]) => `${at} ms ${accept}: ${shown(outcome)} ${fromControlPlane(outcome) ? 'ours' : 'not ours'} ${outcome.body.slice(0, 80)}`;
      // A proxy error in the moment the container goes is tolerated; one that lasts is not.
      expect(seen.filter((entry) => entry.at > 3_000 && !ours(entry)).map(line)).toEqual([]);
      expect(seen.filter((entry) => (entry.outcome.status ?? 500) >= 500 && entry.outcome.status !== 503).length).toBeLessThanOrEqual(4);

      await until('a start through the API', async () => {
        const started = await call(`${platformUrl}/api/runtime/start`, { method: 'POST', session: admin, timeoutMs: 300_000 });
        const body = (await started.json()) as { runtime?: { state: string } };
        return started.status === 200 && body.runtime?.state === 'running' ? true : null;
      }, 300_000);
      await controlUiLoads(runtimeUrl, admin, ADMIN.username, 120_000);
    });
  });

  // The crewclaw-runtime-headers middleware blanks Set-Cookie on every runtime response, so a runtime
  // cannot plant a cookie the platform would read (cookies ignore ports). No OpenClaw endpoint on the
  // runtime origin sets one, so a stand-in runtime does: a container on admin's network, labelled as the
  // runtime manager labels admin's runtime (routingLabels), under its own router for one path below
  // /u/admin/. A second router to it without the headers middleware is the control: there the cookie
  // does come through, so the stand-in and Traefik would show it if the middleware were gone.
  it('strips Set-Cookie from whatever a runtime answers, so a runtime cannot plant a cookie for the platform', async () => {
    const standIn = `${PREFIX}-standin-admin`;
    const planted = `${SESSION_COOKIE}=evil; Path=/`;
    const server = `require('node:http').createServer((req, res) => {
      res.setHeader('Set-Cookie', ${JSON.stringify(planted)});
      res.end('stand-in runtime answering ' + req.url);
    }).listen(${GATEWAY_PORT});`;
    const runtimeRouter = `traefik.http.routers.${containerName(ADMIN.username)}`;
    const labels: Record<string, string> = {};
    for (const [key, value] of Object.entries(routingLabels(PREFIX, ADMIN.username, { tls: false, addressing: runtimeAddressing(runtimeUrl) }))) {
      labels[key.replace(containerName(ADMIN.username), standIn)] = value.replace(containerName(ADMIN.username), standIn);
    }
    const router = `traefik.http.routers.${standIn}`;
    const unfiltered = `traefik.http.routers.${standIn}-unfiltered`;
    Object.assign(labels, {
      [TEST_LABEL]: '1',
      [LABELS.platform]: PREFIX,
      [`${router}.rule`]: `PathPrefix(\`/u/${ADMIN.username}/stand-in/\`)`,
      // Above the runtime's own router, whose priority is its rule's length.
      [`${router}.priority`]: '10000',
      [`${unfiltered}.rule`]: `PathPrefix(\`/u/${ADMIN.username}/stand-in-unfiltered/\`)`,
      [`${unfiltered}.priority`]: '10000',
      [`${unfiltered}.entrypoints`]: labels[`${router}.entrypoints`],
      [`${unfiltered}.middlewares`]: FORWARD_AUTH_MIDDLEWARE,
      [`${unfiltered}.service`]: standIn,
    });
    expect(labels[`${router}.middlewares`]).toBe(docker('inspect', '-f', `{{index .Config.Labels "${runtimeRouter}.middlewares"}}`, containerName(ADMIN.username)));
    docker(
      'run', '-d', '--name', standIn, '--network', `${PREFIX}-net-${ADMIN.username}`, '--no-healthcheck',
      ...Object.entries(labels).flatMap(([key, value]) => ['--label', `${key}=${value}`]),
      '--entrypoint', 'node', 'crewclaw/control-plane:dev', '-e', server,
    );
    try {
      const reach = (path: string) =>
        until(`the stand-in at ${path} through Traefik`, async () => {
          const outcome = await outcomeOf(`${runtimeUrl}${path}`, { session: admin, headers: { Accept: 'text/html' } });
          return outcome.status === 200 && outcome.body === `stand-in runtime answering ${path}` ? outcome : null;
        }, 30_000);
      const control = await reach(`/u/${ADMIN.username}/stand-in-unfiltered/probe`);
      expect(control.headers?.getSetCookie()).toEqual([planted]);

      const answer = await reach(`/u/${ADMIN.username}/stand-in/probe`);
      expect(answer.headers?.getSetCookie()).toEqual([]);
      expect(answer.headers?.has('set-cookie')).toBe(false);
    } finally {
      docker('rm', '-f', standIn);
    }
    // The runtime's own route is the admin's again.
    await controlUiLoads(runtimeUrl, admin, ADMIN.username);
  });

  // Last: it leaves the test's own address rate-limited for sign-ins.
  it("does not let forged X-Forwarded-For or X-Real-Ip change who the client is: the per-IP sign-in limit still holds", async () => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt <= MAX_FAILURES_PER_IP; attempt++) {
      // A new username each time, so the per-username limit never speaks; a new forged address each time,
      // so a control plane that believed the client would count each attempt on its own.
      const address = `198.51.100.${attempt + 1}`;
      const response = await call(`${platformUrl}/api/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': address, 'X-Real-Ip': address, Forwarded: `for=${address}` },
        body: JSON.stringify({ username: `nobody${attempt}`, password: 'wrong-password-1' }),
      });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([...Array<number>(MAX_FAILURES_PER_IP).fill(401), 429]);
    // The right password from yet another forged address is refused too: the limit is on the real client.
    const blocked = await call(`${platformUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': '192.0.2.200', 'X-Real-Ip': '192.0.2.200' },
      body: JSON.stringify({ username: 'bob', password: 'bob-password-1' }),
    });
    expect(blocked.status).toBe(429);
    expect(((await blocked.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
  });
});
