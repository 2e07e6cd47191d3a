/**
 * The whole stack as users run it, for the entry-layer tests: compose.yaml brought up by `docker compose`
 * under this test process's own project name and prefix, on free host ports, with a settings file of
 * its own; HTTP(S) requests to it that a test can point at any certificate authority; and what a
 * browser does there (sign in, open a runtime's Control UI).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import { ADMIN } from '../../integration/support/test-platform';
import { PREFIX, SUBNET_POOL, freePort, removeTestResources, until as pollUntil } from './docker-platform';

const ROOT = path.resolve(__dirname, '../../../..');

export interface ComposeStack {
  ports: { http: number; https: number; runtime: number };
  envFile: string;
  /** `docker compose` on this stack's project, files and settings. */
  compose: (...args: string[]) => string;
  /** Takes the stack down with its volumes, and whatever the control plane made in Docker. */
  down: () => void;
}

/** Free host ports for a stack's HTTP, HTTPS and runtime-origin ports. */
export async function stackPorts(): Promise<ComposeStack['ports']> {
  return { http: await freePort(), https: await freePort(), runtime: await freePort() };
}

/**
 * Brings the stack up on `ports` with `settings` (PUBLIC_URL, RUNTIME_URL...); the prefix, data volume,
 * ports, Docker group and subnet pool are filled in. `overrides` are more compose files laid over
 * compose.yaml (what a test needs and users never do).
 */
export function upComposeStack(ports: ComposeStack['ports'], settings: Record<string, string>, overrides: string[] = []): ComposeStack {
  const envFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'crewclaw-stack-')), 'stack.env');
  const all = {
    RUNTIME_NAME_PREFIX: PREFIX,
    CREWCLAW_DATA_VOLUME: `${PREFIX}-data`,
    CREWCLAW_HTTP_PORT: String(ports.http),
    CREWCLAW_HTTPS_PORT: String(ports.https),
    CREWCLAW_RUNTIME_PORT: String(ports.runtime),
    CREWCLAW_DOCKER_GID: String(fs.statSync('/var/run/docker.sock').gid),
    RUNTIME_SUBNET_POOL: SUBNET_POOL,
    RUNTIME_MEMORY_MB: '2048',
    LOG_LEVEL: 'info',
    ...settings,
  };
  fs.writeFileSync(envFile, `${Object.entries(all).map(([key, value]) => `${key}=${value}`).join('\n')}\n`);
  const files = ['compose.yaml', ...overrides].flatMap((file) => ['-f', path.isAbsolute(file) ? file : path.join(ROOT, file)]);
  const compose = (...args: string[]) =>
    execFileSync('docker', ['compose', '-p', PREFIX, ...files, '--env-file', envFile, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CREWCLAW_ENV_FILE: envFile },
    });
  const down = () => {
    try {
      compose('down', '-v', '--remove-orphans', '-t', '2');
    } finally {
      removeTestResources();
    }
  };
  try {
    compose('up', '-d', '--no-build', '--wait');
  } catch (error) {
    const logs = (() => {
      try {
        return compose('logs', '--no-color', '--tail', '40');
      } catch {
        return '';
      }
    })();
    down();
    throw new Error(`docker compose up failed: ${(error as { stderr?: string }).stderr ?? String(error)}\n${logs}`, { cause: error });
  }
  return { ports, envFile, compose, down };
}

/** The stack over plain HTTP on 127.0.0.1, with the platform's and the runtimes' origins there. */
export interface HttpStack {
  stack: ComposeStack;
  platformUrl: string;
  runtimeUrl: string;
}

/** upComposeStack with PUBLIC_URL and RUNTIME_URL on the published plain-HTTP ports; `settings` adds more. */
export async function upHttpStack(settings: Record<string, string> = {}): Promise<HttpStack> {
  const ports = await stackPorts();
  const platformUrl = `http://127.0.0.1:${ports.http}`;
  const runtimeUrl = `http://127.0.0.1:${ports.runtime}`;
  return { stack: upComposeStack(ports, { PUBLIC_URL: platformUrl, RUNTIME_URL: runtimeUrl, ...settings }), platformUrl, runtimeUrl };
}

/** A signed-in browser: its session cookie, and the CSRF token the web UI sends with every change. */
export interface Session {
  cookie: string;
  csrfToken: string;
}

/** A request without redirects followed, as a browser's first hop; `session` signs it in. */
export function call(url: string, init: RequestInit & { session?: Session; timeoutMs?: number } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.session) {
    headers.set('Cookie', init.session.cookie);
    headers.set('X-CSRF-Token', init.session.csrfToken);
  }
  return fetch(url, { ...init, headers, redirect: 'manual', signal: AbortSignal.timeout(init.timeoutMs ?? 30_000) });
}

/** A page load, as the browser's address bar makes it. */
export function page(url: string, session?: Session, headers: Record<string, string> = {}): Promise<Response> {
  return call(url, { session, headers: { Accept: 'text/html', 'Sec-Fetch-Mode': 'navigate', ...headers } });
}

/** Signs in on the platform; anything but a 200 fails, with what came back. */
export async function signIn(platformUrl: string, username: string, password: string, headers: Record<string, string> = {}): Promise<Session> {
  const response = await call(`${platformUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ username, password }),
  });
  if (response.status !== 200) throw new Error(`signing in as ${username}: ${response.status} ${await response.text()}`);
  const cookie = response.headers.getSetCookie().map((line) => line.split(';')[0]).join('; ');
  return { cookie, csrfToken: ((await response.json()) as { csrfToken: string }).csrfToken };
}

/** A user the entry-layer tests make beside the admin: someone else's runtime is never theirs. */
export const BOB = { username: 'bob', password: 'bob-password-1' } as const;

/** A new platform's first steps: the admin set up, and bob made as an ordinary user; both signed in. */
export async function setUpUsers(platformUrl: string): Promise<{ admin: Session; bob: Session }> {
  const expectCreated = async (what: string, response: Response) => {
    if (response.status !== 201) throw new Error(`${what}: ${response.status} ${await response.text()}`);
  };
  await expectCreated('setup', await call(`${platformUrl}/api/setup`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(ADMIN) }));
  const admin = await signIn(platformUrl, ADMIN.username, ADMIN.password);
  const made = await call(`${platformUrl}/api/users`, {
    method: 'POST',
    session: admin,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ ...BOB, role: 'user' }),
  });
  await expectCreated('making bob', made);
  return { admin, bob: await signIn(platformUrl, BOB.username, BOB.password) };
}

/** Waits until `username`'s Control UI loads through Traefik for `session`; gives the page. */
export function controlUiLoads(runtimeUrl: string, session: Session, username: string, timeoutMs = 60_000): Promise<string> {
  return until('the Control UI through Traefik', async () => {
    const response = await page(`${runtimeUrl}/u/${username}/`, session);
    const body = await response.text();
    return response.status === 200 && /openclaw/i.test(body) ? body : null;
  }, timeoutMs);
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The server's certificate's subjectAltName, as Node reads it. */
  subjectAltName: string;
}

/**
 * An HTTPS request that trusts only `ca`, reaching `url`'s host and port but naming `servername` in
 * TLS (a host name no DNS here knows, such as crew.test): a certificate that does not verify fails.
 */
export function httpsRequest(url: string, options: { ca: string; servername?: string; method?: string; headers?: Record<string, string>; body?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = https.request(url, { method: options.method ?? 'GET', headers: options.headers, ca: options.ca, servername: options.servername, timeout: 30_000 }, (response) => {
      // Now: the socket goes back to the agent once the body is read.
      const subjectAltName = (response.socket as TLSSocket).getPeerCertificate().subjectaltname ?? '';
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          subjectAltName,
        }),
      );
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer from ${url} within 30 s`)));
    request.on('error', reject);
    request.end(options.body);
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls an HTTP probe every 250 ms until it gives something; a refused connection is tried again. */
export const until = <T>(what: string, probe: () => Promise<T | null>, timeoutMs: number): Promise<T> =>
  pollUntil(what, probe, timeoutMs, { intervalMs: 250, retryErrors: true });
