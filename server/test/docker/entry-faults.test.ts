/**
 * The entry layer under faults, as users run it: compose.yaml brought up by `docker compose` (Traefik
 * and the control plane's image, a project of this test's own on free ports) and a real OpenClaw
 * runtime behind forward-auth. Each test sends what a broken client, a hostile client or a bad day
 * sends (an enormous path, a burst of requests, forged Host and X-Forwarded-* headers, a runtime
 * removed behind the platform's back) and asserts what the user would see.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ADMIN } from '../integration/support/test-platform';
import { PREFIX, SUBNET_POOL, containerName, docker, freePort, printingLogsOnFailure, removeTestResources } from './support/docker-platform';

jest.setTimeout(600_000);

const ROOT = path.resolve(__dirname, '../../..');
/** Set in the stack's settings below, so the test does not lean on a default that may move. */
const MAX_FAILURES_PER_IP = 20;
const MAX_FAILURES_PER_USERNAME = 10;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Session {
  cookie: string;
  csrfToken: string;
}

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
  let envFile: string;
  let platformUrl: string;
  let runtimeUrl: string;
  let httpPort: number;
  let runtimePort: number;
  let admin: Session;
  let bob: Session;

  const compose = (...args: string[]) =>
    execFileSync('docker', ['compose', '-p', PREFIX, '-f', path.join(ROOT, 'compose.yaml'), '--env-file', envFile, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CREWCLAW_ENV_FILE: envFile },
    });

  /** A request without redirects followed, as a browser's first hop. */
  const call = (url: string, init: RequestInit & { session?: Session; timeoutMs?: number } = {}) => {
    const headers = new Headers(init.headers);
    if (init.session) {
      headers.set('Cookie', init.session.cookie);
      headers.set('X-CSRF-Token', init.session.csrfToken);
    }
    return fetch(url, { ...init, headers, redirect: 'manual', signal: AbortSignal.timeout(init.timeoutMs ?? 30_000) });
  };
  const page = (url: string, session?: Session, headers: Record<string, string> = {}) =>
    call(url, { session, headers: { Accept: 'text/html', 'Sec-Fetch-Mode': 'navigate', ...headers } });

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

  async function signIn(username: string, password: string, headers: Record<string, string> = {}): Promise<Session> {
    const response = await call(`${platformUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify({ username, password }),
    });
    expect(response.status).toBe(200);
    const cookie = response.headers.getSetCookie().map((line) => line.split(';')[0]).join('; ');
    return { cookie, csrfToken: ((await response.json()) as { csrfToken: string }).csrfToken };
  }

  async function until<T>(what: string, probe: () => Promise<T | null>, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: Error | null = null;
    while (Date.now() < deadline) {
      try {
        const value = await probe();
        if (value !== null) return value;
      } catch (error) {
        last = error instanceof Error ? error : new Error(String(error));
      }
      await sleep(250);
    }
    throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${last.message})` : ''}`);
  }

  const isControlUi = (outcome: Outcome) => outcome.status === 200 && /openclaw/i.test(outcome.body);
  const controlUiLoads = (session: Session, timeoutMs = 60_000) =>
    until('the Control UI through Traefik', async () => {
      const response = await page(`${runtimeUrl}/u/admin/`, session);
      const body = await response.text();
      return response.status === 200 && /openclaw/i.test(body) ? body : null;
    }, timeoutMs);

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
    [httpPort, runtimePort] = [await freePort(), await freePort()];
    platformUrl = `http://127.0.0.1:${httpPort}`;
    runtimeUrl = `http://127.0.0.1:${runtimePort}`;
    envFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'crewclaw-entry-faults-')), 'test.env');
    fs.writeFileSync(
      envFile,
      [
        `RUNTIME_NAME_PREFIX=${PREFIX}`,
        `CREWCLAW_DATA_VOLUME=${PREFIX}-data`,
        `CREWCLAW_HTTP_PORT=${httpPort}`,
        `CREWCLAW_RUNTIME_PORT=${runtimePort}`,
        `CREWCLAW_DOCKER_GID=${fs.statSync('/var/run/docker.sock').gid}`,
        `PUBLIC_URL=${platformUrl}`,
        `RUNTIME_URL=${runtimeUrl}`,
        `RUNTIME_SUBNET_POOL=${SUBNET_POOL}`,
        `LOGIN_MAX_FAILURES_PER_IP=${MAX_FAILURES_PER_IP}`,
        `LOGIN_MAX_FAILURES_PER_USERNAME=${MAX_FAILURES_PER_USERNAME}`,
        'RUNTIME_MEMORY_MB=2048',
        'LOG_LEVEL=info',
        '',
      ].join('\n'),
    );
    compose('up', '-d', '--no-build', '--wait');
    const setup = await call(`${platformUrl}/api/setup`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(ADMIN) });
    expect(setup.status).toBe(201);
    admin = await signIn(ADMIN.username, ADMIN.password);
    const made = await call(`${platformUrl}/api/users`, {
      method: 'POST',
      session: admin,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'bob', password: 'bob-password-1', role: 'user' }),
    });
    expect(made.status).toBe(201);
    bob = await signIn('bob', 'bob-password-1');
    const started = await call(`${platformUrl}/api/runtime/start`, { method: 'POST', session: admin, timeoutMs: 300_000 });
    expect(started.status).toBe(200);
    await controlUiLoads(admin);
  });

  afterAll(() => {
    try {
      compose('down', '-v', '--remove-orphans', '-t', '2');
    } finally {
      removeTestResources();
    }
  });

  describe('a very long path gets a clear 4xx, and the stack keeps working', () => {
    const sizes: [string, number][] = [
      ['16 KiB', 16 * 1024],
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
    const forgedHosts = () => ['evil.example', `127.0.0.1:${httpPort}`, `localhost:${httpPort}`, 'control-plane:3000', `${containerName('admin')}:18789`];

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
      for (const host of [...forgedHosts(), `127.0.0.1:${runtimePort}`]) {
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
      await controlUiLoads(admin, 120_000);
    });
  });

  // The crewclaw-runtime-headers middleware blanks Set-Cookie on every runtime response, so a runtime
  // cannot plant a cookie the platform would read (cookies ignore ports). No OpenClaw 2026.9.6 endpoint
  // reachable on the runtime origin sets one in the runtime image's configuration: the gateway's only
  // cookies are the Control UI plugin-tab grants (control-ui-config.json reports "pluginFrameGrants": [],
  // as no enabled plugin has a Control UI tab) and the portal's, served on a portal's own port, never
  // through Traefik. Making the runtime send one would mean faking it, so this waits for such an endpoint.
  it.skip('strips Set-Cookie from every runtime response (no OpenClaw endpoint on the runtime origin sets a cookie)', () => undefined);

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
