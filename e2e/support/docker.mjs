// Docker housekeeping for specs whose control plane really starts runtimes. Every
// container, network and volume the runtime manager makes carries the label
// org.crewclaw.platform=<RUNTIME_NAME_PREFIX>; each e2e process has its own prefix
// (cce2e<pid>), so removing by that label never touches anybody else's runtimes.
import { execFileSync, spawnSync } from 'node:child_process';

export const PLATFORM_LABEL = 'org.crewclaw.platform';
export const E2E_PREFIX = `cce2e${process.pid}`;
/** A range of its own, clear of the default install (10.213/16) and the docker tests (10.214/16). */
export const E2E_SUBNET_POOL = '10.216.0.0/16';

function docker(...args) {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 }).trim();
}

const lines = (text) => text.split('\n').filter(Boolean);

/** What the control plane with `prefix` made and is still there, as `kind:id`. */
export function runtimeResources(prefix = E2E_PREFIX) {
  const filter = ['--filter', `label=${PLATFORM_LABEL}=${prefix}`];
  return [
    ...lines(docker('ps', '-aq', ...filter)).map((id) => `container:${id}`),
    ...lines(docker('network', 'ls', '-q', ...filter)).map((id) => `network:${id}`),
    ...lines(docker('volume', 'ls', '-q', ...filter)).map((id) => `volume:${id}`),
  ];
}

/** Removes what the control plane with `prefix` made: containers first, then networks, then volumes. */
export function removeRuntimeResources(prefix = E2E_PREFIX) {
  const filter = ['--filter', `label=${PLATFORM_LABEL}=${prefix}`];
  const containers = lines(docker('ps', '-aq', ...filter));
  if (containers.length) docker('rm', '-f', ...containers);
  for (const network of lines(docker('network', 'ls', '-q', ...filter))) {
    try {
      docker('network', 'rm', network);
    } catch {
      // already gone
    }
  }
  const volumes = lines(docker('volume', 'ls', '-q', ...filter));
  if (volumes.length) docker('volume', 'rm', '-f', ...volumes);
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/**
 * Removes leftovers of e2e runs that were killed before their clean-up ran (a timeout
 * kills the spec's process): prefixes cce2e<pid>[letters] whose process is gone.
 */
export function sweepOrphans() {
  const prefixes = new Set();
  const filter = ['--filter', `label=${PLATFORM_LABEL}`];
  const format = ['--format', `{{.Label "${PLATFORM_LABEL}"}}`];
  for (const args of [['ps', '-a'], ['network', 'ls'], ['volume', 'ls']]) {
    for (const prefix of lines(docker(...args, ...filter, ...format))) prefixes.add(prefix);
  }
  for (const prefix of prefixes) {
    const match = /^cce2e(\d+)[a-z]*$/.exec(prefix);
    if (match && Number(match[1]) !== process.pid && !alive(Number(match[1]))) removeRuntimeResources(prefix);
  }
}

/**
 * Makes sure this process's runtimes go away however it ends: normally (the spec's
 * after hook), on exit, and on SIGTERM / SIGINT (the test runner's timeout, Ctrl-C).
 */
export function cleanUpOnExit(prefix = E2E_PREFIX) {
  let done = false;
  const clean = () => {
    if (done) return;
    done = true;
    try {
      removeRuntimeResources(prefix);
    } catch (error) {
      console.error(`Could not remove the e2e runtimes (${prefix}): ${error.message}`);
    }
  };
  process.once('exit', clean);
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.once(signal, () => {
      clean();
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    });
  }
  return clean;
}

/** Prints the last lines of this run's runtime containers (for a failed test). */
export function runtimeLogs(prefix = E2E_PREFIX) {
  const out = [];
  for (const line of lines(docker('ps', '-a', '--filter', `label=${PLATFORM_LABEL}=${prefix}`, '--format', '{{.Names}}'))) {
    const logs = spawnSync('docker', ['logs', '--tail', '60', line], { encoding: 'utf8' });
    out.push(`--- logs of ${line} ---\n${logs.stdout ?? ''}${logs.stderr ?? ''}`);
  }
  return out.join('\n');
}
