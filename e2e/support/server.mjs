// Starts one real control plane (node dist/server/main.js) for one test file:
// fresh temp DATA_DIR, a free loopback port, waits for GET /api/ready, and stops it
// (and removes the data) when asked. If the process dies, its output is printed.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const serverEntry = path.join(repoRoot, 'dist', 'server', 'main.js');
const LOG_LIMIT = 256 * 1024;

function freePort() {
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
 * @returns {Promise<{ baseUrl: string, dataDir: string, output: () => string, exited: () => boolean, stop: () => Promise<void> }>}
 */
export async function startServer({ readyTimeoutMs = 30_000 } = {}) {
  if (!existsSync(serverEntry)) throw new Error(`${serverEntry} is missing: run \`npm run build\` first.`);
  const port = await freePort();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'crewclaw-e2e-'));
  const baseUrl = `http://127.0.0.1:${port}`;

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
      LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'info',
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

  return { baseUrl, dataDir, output, exited: () => exit !== null, stop };
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
