// The whole stack as users run it, for the specs that go through the entry layer: compose.yaml
// brought up by `docker compose` under this process's own project and prefix (Traefik, the control
// plane's image, free loopback ports), and taken down with everything it made at the end. Same shape
// as startServer() (support/server.mjs), so useStack() can hand either to a spec.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { E2E_PREFIX, E2E_SUBNET_POOL, removeRuntimeResources } from './docker.mjs';
import { freePort, repoRoot } from './server.mjs';

/**
 * `env` adds settings for the control plane (they go to the stack's env file). `runtimeDomain`
 * (e.g. `crew.test`) serves the platform at that name and each runtime at `<user>.<domain>`, both on
 * the platform's port: the browser must map those names to loopback (see useStack's `browserArgs`);
 * Node reaches the platform at `apiUrl`, by address.
 * @returns {Promise<{ baseUrl: string, apiUrl: string, runtimeUrl: string, runtimePrefix: string, compose: (...args: string[]) => string, output: () => string, exited: () => boolean, stop: () => Promise<void> }>}
 */
export async function startComposeStack({ env: extraEnv = {}, runtimeDomain = null } = {}) {
  const [httpPort, httpsPort, runtimePort] = [await freePort(), await freePort(), await freePort()];
  // localhost, not 127.0.0.1, as a user types it: the runtime origin differs from the platform's by its port.
  const baseUrl = runtimeDomain ? `http://${runtimeDomain}:${httpPort}` : `http://localhost:${httpPort}`;
  const runtimeUrl = runtimeDomain ? `http://*.${runtimeDomain}:${httpPort}` : `http://localhost:${runtimePort}`;
  // The platform answers on its port whatever the host name (Traefik's platform router matches any).
  const apiUrl = runtimeDomain ? `http://127.0.0.1:${httpPort}` : baseUrl;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'crewclaw-e2e-compose-'));
  const envFile = path.join(dir, 'stack.env');
  const settings = {
    RUNTIME_NAME_PREFIX: E2E_PREFIX,
    CREWCLAW_DATA_VOLUME: `${E2E_PREFIX}-data`,
    CREWCLAW_HTTP_PORT: String(httpPort),
    // Published even with HTTPS off: a port of its own, never the default one a real install uses.
    CREWCLAW_HTTPS_PORT: String(httpsPort),
    CREWCLAW_RUNTIME_PORT: String(runtimePort),
    CREWCLAW_DOCKER_GID: String(statSync('/var/run/docker.sock').gid),
    PUBLIC_URL: baseUrl,
    RUNTIME_URL: runtimeUrl,
    RUNTIME_SUBNET_POOL: E2E_SUBNET_POOL,
    LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'info',
    ...extraEnv,
  };
  writeFileSync(envFile, `${Object.entries(settings).map(([key, value]) => `${key}=${value}`).join('\n')}\n`);

  const compose = (...args) =>
    execFileSync('docker', ['compose', '-p', E2E_PREFIX, '-f', path.join(repoRoot, 'compose.yaml'), '--env-file', envFile, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CREWCLAW_ENV_FILE: envFile },
      timeout: 300_000,
    });

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      compose('down', '--volumes', '--timeout', '5');
    } finally {
      // The runtimes are not compose services: the control plane made them.
      removeRuntimeResources(E2E_PREFIX);
      rmSync(dir, { recursive: true, force: true });
    }
  };
  process.once('exit', () => {
    if (!stopped) {
      try {
        compose('down', '--volumes', '--timeout', '1');
      } catch {
        // already gone
      }
    }
  });

  const output = () => {
    try {
      return `--- compose logs (last part) ---\n${compose('logs', '--no-color', '--tail', '80')}`;
    } catch (error) {
      return `(no compose logs: ${error.message})`;
    }
  };

  try {
    compose('up', '-d', '--no-build', '--wait');
  } catch (error) {
    const logs = output();
    await stop();
    throw new Error(`docker compose up failed: ${error.stderr ?? error.message}\n${logs}`);
  }
  return { baseUrl, apiUrl, runtimeUrl, runtimePrefix: E2E_PREFIX, compose, output, exited: () => stopped, stop };
}
