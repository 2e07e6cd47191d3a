/**
 * The whole stack as users run it, for the entry-layer tests: compose.yaml brought up by `docker compose`
 * under this test process's own project name and prefix, on free host ports, with a settings file of
 * its own; and HTTP(S) requests to it that a test can point at any certificate authority.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import { PREFIX, SUBNET_POOL, freePort, removeTestResources } from './docker-platform';

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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it gives something other than null; fails with the last error seen. */
export async function until<T>(what: string, probe: () => Promise<T | null>, timeoutMs: number): Promise<T> {
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
