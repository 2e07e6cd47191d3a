/**
 * A real platform over the real Docker daemon and the real runtime image.
 * Everything it makes carries the test label and a per-run name prefix, and
 * global-teardown.ts removes whatever is left, also after a failure.
 */
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { DockerDriver } from '../../../src/runtimes/docker/docker-driver';
import { startTestPlatform, type TestPlatform } from '../../integration/support/test-platform';

export const TEST_LABEL = 'org.crewclaw.test';
/** One prefix per test file run, so parallel runs and leftovers never collide. */
export const PREFIX = `cctest${process.pid}`;
/** Runs on one daemon share it (a taken /28 is skipped); a run may take a pool of its own instead. */
export const SUBNET_POOL = process.env.CREWCLAW_TEST_SUBNET_POOL ?? '10.214.0.0/16';
export const RUNTIME_IMAGE = process.env.CREWCLAW_TEST_RUNTIME_IMAGE ?? 'crewclaw/runtime:dev';

export function dockerEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    RUNTIME_NAME_PREFIX: PREFIX,
    RUNTIME_SUBNET_POOL: SUBNET_POOL,
    RUNTIME_IMAGE,
    PUBLIC_URL: 'http://localhost:8080',
    ...extra,
  };
}

export function driverFor(env: Record<string, string>): DockerDriver {
  return new DockerDriver({
    socketPath: env.DOCKER_SOCKET ?? '/var/run/docker.sock',
    prefix: env.RUNTIME_NAME_PREFIX ?? PREFIX,
    subnetPool: env.RUNTIME_SUBNET_POOL ?? SUBNET_POOL,
    extraLabels: { [TEST_LABEL]: '1' },
  });
}

export function startDockerPlatform(extra: Record<string, string> = {}, dataDir?: string): TestPlatform {
  const env = dockerEnv(extra);
  return startTestPlatform(env, { driver: driverFor(env), dataDir });
}

export function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export function containerName(username: string): string {
  return `${PREFIX}-rt-${username}`;
}

/** Runs a test body and, when it fails, prints the logs of the runtimes it was using. */
export async function printingLogsOnFailure(usernames: string[], body: () => Promise<void> | void): Promise<void> {
  try {
    await body();
  } catch (error) {
    for (const username of usernames) {
      try {
        console.error(`--- logs of ${containerName(username)} ---\n${docker('logs', '--tail', '60', containerName(username))}`);
      } catch {
        console.error(`--- no container ${containerName(username)} ---`);
      }
    }
    throw error;
  }
}

export function removeTestResources(prefix = PREFIX): void {
  const ids = (kind: 'ps' | 'network' | 'volume') => {
    const base = kind === 'ps' ? ['ps', '-aq'] : [kind, 'ls', '-q'];
    // The prefix is unique to this run; resources made by a containerised control plane carry it too.
    return docker(...base, '--filter', `label=org.crewclaw.platform=${prefix}`)
      .split('\n')
      .filter(Boolean);
  };
  const containers = ids('ps');
  // -v: the control plane image declares VOLUME /data, whose anonymous volume would outlive the container.
  if (containers.length) docker('rm', '-f', '-v', ...containers);
  for (const network of ids('network')) {
    try {
      docker('network', 'rm', network);
    } catch {
      // already gone
    }
  }
  const volumes = ids('volume');
  if (volumes.length) docker('volume', 'rm', '-f', ...volumes);
}

/**
 * Exit 0 when a TCP connection from inside the user's runtime to host:port opens, 7 when it is refused
 * or dropped. A bare connect is answered by the kernel, so a gateway busy starting up still counts as
 * reachable, while Docker's isolation rules drop the packets and the attempt times out.
 */
export function connectFrom(username: string, host: string, port = 18789): number {
  const script = `const s = require('node:net').connect(${port}, ${JSON.stringify(host)}); s.setTimeout(5000);
s.on('connect', () => process.exit(0)); s.on('timeout', () => process.exit(7)); s.on('error', () => process.exit(7));`;
  try {
    docker('exec', containerName(username), 'node', '-e', script);
    return 0;
  } catch (error) {
    return (error as { status?: number }).status ?? -1;
  }
}

/** The runtime's address on its own network. */
export function runtimeAddress(username: string): string {
  return docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${PREFIX}-net-${username}").IPAddress}}`, containerName(username));
}

/** The network every runtime of this run leaves through (runtime-names.ts). */
export const EGRESS_NETWORK = `${PREFIX}-egress`;

/** The runtime's address on the shared egress network ('' when it is not on it). */
export function egressAddress(username: string): string {
  const networks = JSON.parse(docker('inspect', '-f', '{{json .NetworkSettings.Networks}}', containerName(username))) as Record<string, { IPAddress: string }>;
  return networks[EGRESS_NETWORK]?.IPAddress ?? '';
}

/** connectFrom's answer for a connection opened from the Docker host itself: 0 connected, 7 not. */
export function connectFromHost(host: string, port = 18789): Promise<number> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    socket.setTimeout(5000);
    socket.on('connect', () => {
      socket.destroy();
      resolve(0);
    });
    socket.on('timeout', () => {
      socket.destroy();
      resolve(7);
    });
    socket.on('error', () => resolve(7));
  });
}

/**
 * Polls `probe` every `intervalMs` until it gives a value (not undefined or null), or fails naming
 * `what`. With `retryErrors`, a probe that throws (a connection refused while something restarts) is
 * tried again, and the last error is named in the failure.
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | null> | T | undefined | null,
  timeoutMs: number,
  { intervalMs = 1000, retryErrors = false }: { intervalMs?: number; retryErrors?: boolean } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: Error | null = null;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null) return value;
    } catch (error) {
      if (!retryErrors) throw error;
      last = error instanceof Error ? error : new Error(String(error));
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${timeoutMs} ms)${last ? `: ${last.message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A TCP port nobody listens on now on `host`, to publish at a fixed port as compose does. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
