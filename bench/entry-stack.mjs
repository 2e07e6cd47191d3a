// The stack the entry benchmarks (entry-http, entry-ws, entry-memory) measure: compose.yaml brought up by
// `docker compose` as users run it (and as server/test/docker/entry.test.ts does), a project of its own
// named after BENCH_ENTRY_PREFIX (ccbench), on free loopback ports, its runtimes on 10.219.0.0/16; the
// first admin signed up and signed in. Everything Docker holds for it carries the label
// org.crewclaw.platform=<prefix> and a name starting with <prefix>-, and is removed by down().
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, cookieOf, docker, freePort, request, tempDir } from './lib.mjs';

export const PREFIX = process.env.BENCH_ENTRY_PREFIX ?? 'ccbench';
export const SUBNET_POOL = process.env.BENCH_ENTRY_POOL ?? '10.219.0.0/16';
export const RUNTIME_IMAGE = 'crewclaw/runtime:dev';
export const PROXY = `${PREFIX}-proxy`;
export const CONTROL_PLANE = `${PREFIX}-control-plane`;
export const ADMIN = { username: 'admin', password: 'admin-password-1' };
/** OpenClaw's gateway port in the runtime (server/src/runtimes/runtime-names.ts, GATEWAY_PORT). */
export const GATEWAY_PORT = 18789;

function compose(envFile, ...args) {
  return new Promise((resolve, reject) => {
    execFile(
      'docker',
      ['compose', '-p', PREFIX, '-f', path.join(ROOT, 'compose.yaml'), '--env-file', envFile, ...args],
      { env: { ...process.env, CREWCLAW_ENV_FILE: envFile }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => (error ? reject(new Error(`docker compose ${args[0]}: ${stderr.trim() || error.message}`)) : resolve(stdout.trim())),
    );
  });
}

/** Removes every container, network and volume labelled for PREFIX whose name starts with it, and nothing else. */
export async function removePrefixResources() {
  const label = `org.crewclaw.platform=${PREFIX}`;
  const ours = (name) => name.startsWith(`${PREFIX}-`) || name.startsWith(`${PREFIX}_`);
  const containers = (await docker('ps', '-a', '--filter', `label=${label}`, '--format', '{{.Names}}')).split('\n').filter(ours);
  if (containers.length) await docker('rm', '-f', ...containers);
  const networks = (await docker('network', 'ls', '--filter', `label=${label}`, '--format', '{{.Name}}')).split('\n').filter(ours);
  for (const network of networks) await docker('network', 'rm', network).catch(() => {});
  const volumes = (await docker('volume', 'ls', '--filter', `label=${label}`, '--format', '{{.Name}}')).split('\n').filter(ours);
  if (volumes.length) await docker('volume', 'rm', '-f', ...volumes);
}

/** A container's address on one of its networks. */
export async function addressOn(container, network) {
  const networks = JSON.parse(await docker('inspect', '-f', '{{json .NetworkSettings.Networks}}', container));
  const address = networks[network]?.IPAddress;
  if (!address) throw new Error(`${container} is not on ${network}`);
  return address;
}

/**
 * Brings the stack up and signs the first admin up and in. Resolves with the URLs, the admin's session
 * (cookie, csrfToken) and down(), which takes everything away again (also call it after a failure).
 */
export async function upStack() {
  await removePrefixResources();
  const dir = tempDir();
  const envFile = path.join(dir, 'bench.env');
  const [httpPort, httpsPort, runtimePort] = [await freePort(), await freePort(), await freePort()];
  const platformUrl = `http://127.0.0.1:${httpPort}`;
  const runtimeUrl = `http://127.0.0.1:${runtimePort}`;
  fs.writeFileSync(
    envFile,
    [
      `RUNTIME_NAME_PREFIX=${PREFIX}`,
      `CREWCLAW_DATA_VOLUME=${PREFIX}-data`,
      `CREWCLAW_HTTP_PORT=${httpPort}`,
      `CREWCLAW_HTTPS_PORT=${httpsPort}`,
      `CREWCLAW_RUNTIME_PORT=${runtimePort}`,
      `CREWCLAW_DOCKER_GID=${fs.statSync('/var/run/docker.sock').gid}`,
      `PUBLIC_URL=${platformUrl}`,
      `RUNTIME_URL=${runtimeUrl}`,
      `RUNTIME_SUBNET_POOL=${SUBNET_POOL}`,
      'RUNTIME_MEMORY_MB=2048',
      'LOG_LEVEL=info',
      '',
    ].join('\n'),
  );
  const down = async () => {
    await compose(envFile, 'down', '-v', '--remove-orphans', '-t', '2').catch((error) => console.error(error.message));
    await removePrefixResources();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await compose(envFile, 'up', '-d', '--no-build', '--wait');
    const setup = await request(`${platformUrl}/api/setup`, { method: 'POST', body: ADMIN });
    if (setup.status !== 201) throw new Error(`setup: ${setup.status} ${JSON.stringify(setup.body)}`);
    const login = await request(`${platformUrl}/api/auth/login`, { method: 'POST', body: ADMIN });
    if (login.status !== 200) throw new Error(`login: ${login.status}`);
    const session = { cookie: cookieOf(login), csrfToken: login.body.csrfToken };
    return { envFile, platformUrl, runtimeUrl, session, down };
  } catch (error) {
    await down();
    throw error;
  }
}

/** Starts the admin's runtime through the API (answers once its gateway is healthy); resolves with its address. */
export async function startAdminRuntime(stack) {
  const started = await request(`${stack.platformUrl}/api/runtime/start`, {
    method: 'POST',
    headers: { cookie: stack.session.cookie, 'x-csrf-token': stack.session.csrfToken },
  });
  if (started.status !== 200 || started.body.runtime?.state !== 'running') throw new Error(`runtime start: ${started.status} ${JSON.stringify(started.body)}`);
  return addressOn(`${PREFIX}-rt-${ADMIN.username}`, `${PREFIX}-net-${ADMIN.username}`);
}

/**
 * Runs bench/entry-probe.mjs with `plan` in a helper container that shares Traefik's network namespace
 * (the runtime image's Node, bench/ mounted read-only); resolves with its JSON result.
 */
export async function probeFromProxy(plan) {
  const output = await docker(
    'run', '--rm', '--label', `org.crewclaw.platform=${PREFIX}`, '--name', `${PREFIX}-probe-${process.pid}`,
    '--network', `container:${PROXY}`, '-v', `${path.join(ROOT, 'bench')}:/bench:ro`, '--entrypoint', 'node',
    RUNTIME_IMAGE, '/bench/entry-probe.mjs', JSON.stringify(plan),
  );
  return JSON.parse(output.split('\n').pop());
}

/** The same probe on the host (through the published port, as a browser on this machine goes). */
export function probeFromHost(plan) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(ROOT, 'bench/entry-probe.mjs'), JSON.stringify(plan)], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      error ? reject(new Error(`entry-probe: ${stderr.trim() || error.message}`)) : resolve(JSON.parse(stdout.trim().split('\n').pop())),
    );
  });
}

/** Fraction of both cores busy over `ms`, from /proc/stat: how loaded the machine was around a measure. */
export async function hostBusy(ms = 2000) {
  const read = () => {
    const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { idle: fields[3] + fields[4], total: fields.reduce((sum, value) => sum + value, 0) };
  };
  const before = read();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = read();
  return Number((1 - (after.idle - before.idle) / Math.max(1, after.total - before.total)).toFixed(2));
}
