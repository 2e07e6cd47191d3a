// Starts one real control plane (node dist/server/main.js) for one test file:
// fresh temp DATA_DIR, a free loopback port, waits for GET /api/ready, and stops it
// (and removes the data) when asked. If the process dies, its output is printed.
// Its runtimes get this process's own name prefix and subnet range (support/docker.mjs),
// so even a spec that only reads runtime state never looks at anybody else's.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { E2E_PREFIX, E2E_SUBNET_POOL } from './docker.mjs';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const serverEntry = path.join(repoRoot, 'dist', 'server', 'main.js');
const LOG_LIMIT = 256 * 1024;

/** A loopback TCP port nobody listens on now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Where RUNTIME_URL points in these specs: Traefik is not part of them (server/test/docker/entry.test.ts
 * runs the real one), so the runtime origin is a page that only says where the browser arrived. What
 * the web UI is tested for is sending the browser to the right address on that origin.
 */
async function startRuntimeOrigin() {
  const port = await freePort();
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>runtime origin</title><p>The runtime origin (no Traefik in this test).</p>');
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  server.unref();
  return { url: `http://localhost:${port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

/**
 * `env` adds or overrides settings (e.g. RUNTIME_IMAGE).
 * @returns {Promise<{ baseUrl: string, runtimeUrl: string, dataDir: string, runtimePrefix: string, output: () => string, exited: () => boolean, stop: () => Promise<void> }>}
 */
export async function startServer({ readyTimeoutMs = 30_000, env: extraEnv = {} } = {}) {
  if (!existsSync(serverEntry)) throw new Error(`${serverEntry} is missing: run \`npm run build\` first.`);
  const port = await freePort();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'crewclaw-e2e-'));
  const baseUrl = `http://127.0.0.1:${port}`;
  const runtimeOrigin = await startRuntimeOrigin();

  let stdout = '';
  let stderr = '';
  let exit = null;
  let stopping = false;
  const keep = (log, chunk) => (log + chunk).slice(-LOG_LIMIT);

  const child = spawn(process.execPath, ['--enable-source-maps', serverEntry], {
    cwd: repoRoot,
    // Only what the server needs, so the developer's own settings cannot leak in.
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? os.tmpdir(),
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      PUBLIC_URL: baseUrl,
      RUNTIME_URL: runtimeOrigin.url,
      LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'info',
      RUNTIME_NAME_PREFIX: E2E_PREFIX,
      RUNTIME_SUBNET_POOL: E2E_SUBNET_POOL,
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout = keep(stdout, chunk)));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr = keep(stderr, chunk)));

  const output = () =>
    `--- control plane stderr ---\n${stderr.trim() || '(empty)'}\n--- control plane stdout (last part) ---\n${stdout.trim().slice(-8000) || '(empty)'}`;

  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      if (!stopping) {
        console.error(`\nThe control plane at ${baseUrl} died (code ${code}, signal ${signal}).\n${output()}\n`);
      }
      resolve();
    });
  });

  const stop = async () => {
    stopping = true;
    if (!exit) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dataDir, { recursive: true, force: true });
    await runtimeOrigin.close();
  };

  // Also clean up if the test process is torn down without running its hooks.
  process.once('exit', () => {
    if (!exit) child.kill('SIGKILL');
  });

  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exit) {
      await rm(dataDir, { recursive: true, force: true });
      throw new Error(`The control plane exited before it was ready (code ${exit.code}).\n${output()}`);
    }
    try {
      const response = await fetch(`${baseUrl}/api/ready`);
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`The control plane was not ready within ${readyTimeoutMs} ms.\n${output()}`);
    }
    await sleep(100);
  }

  return { baseUrl, runtimeUrl: runtimeOrigin.url, dataDir, runtimePrefix: extraEnv.RUNTIME_NAME_PREFIX ?? E2E_PREFIX, output, exited: () => exit !== null, stop };
}

/** Creates the first admin through the API, for tests that are not about setup. */
export async function setupAdmin(baseUrl, username, password) {
  const response = await fetch(`${baseUrl}/api/setup`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (response.status !== 201) throw new Error(`setup failed: HTTP ${response.status} ${await response.text()}`);
}

/** Signs in through the API; `post` and `patch` then send JSON with the session cookie and CSRF token, like the web UI; `raw` sends anything. */
export async function apiSession(baseUrl, username, password) {
  const login = await fetch(`${baseUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (login.status !== 200) throw new Error(`sign-in failed: HTTP ${login.status} ${await login.text()}`);
  const { csrfToken } = await login.json();
  const cookie = login.headers.getSetCookie().map((value) => value.split(';')[0]).join('; ');
  const send = async (method, path, body) => {
    const response = await fetch(`${baseUrl}/api${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken, Cookie: cookie },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
  /** Any request with the session and CSRF token, `headers` and `body` as given; answers the fetch Response. */
  const raw = (method, path, { headers = {}, body } = {}) =>
    fetch(`${baseUrl}/api${path}`, { method, headers: { 'X-CSRF-Token': csrfToken, Cookie: cookie, ...headers }, body });
  return { get: (path) => send('GET', path), post: (path, body) => send('POST', path, body), patch: (path, body) => send('PATCH', path, body), raw };
}
