// Issue #8 item 11 benchmark: what N idle runtimes cost the host's CPU, with the Docker health check
// runtimes used to get (the image's `node` test every 2 s) and with what they get now, side by side
// in one run, one phase after the other (N of each would not fit in memory at once):
//   old    the driver's former setting: Test ["CMD", "node", "-e", <fetch /healthz>] every 2 s
//   new    the driver as it ships (dist/server/runtimes/docker/docker-driver.js): no Docker check
//   image  the image's own HEALTHCHECK left as built (what someone running the image by hand gets)
// Every runtime is made by the real DockerDriver, so image, environment, limits, hardening, networks
// and labels are what the platform makes; only the old and image phases swap the health check.
// Runtimes start BENCH_IDLE_BATCH (3) at a time, each batch waiting until its gateways' /healthz say
// ok; then the phase settles (the gateway keeps working for minutes after it is up) and is measured.
//
// CPU is attributed, not read off the host's load (others use this machine), over the window:
//   runtime     the container's cgroup (cgroup v1 cpuacct.usage): the gateway and its workers, plus
//               whatever a health check runs inside the container (runc init, the test itself)
//   shim        its containerd-shim-runc-v2 (/proc/PID/stat utime+stime)
//   runc        runc processes the shim reaped (the shim's cutime+cstime minus the health check
//               processes that ran inside the container, which the shim reaps too: no double count)
//   daemons     dockerd + containerd (utime+stime+cutime+cstime) above their background rate,
//               divided by N. Both rates are medians of slices (others' Docker calls come in bursts);
//               the background is measured with no runtime of ours, before the first phase and after
//               the last
// Each figure is in % of one core per runtime. Target: at most 0.5 % per idle runtime.
// The host's own busy share of all cores is reported beside it, with the other containers that ran.
//
// Everything it makes is named ccidle-* and labelled org.crewclaw.platform=ccidle and
// org.crewclaw.bench=idle, on the subnet pool 10.218.0.0/16, and removed at the end, also after a
// failure. Run it alone: `npm run build && flock /tmp/crewclaw-docker.lock npm run bench idle`.
// Settings: BENCH_IDLE_N (25, fewer if memory does not allow), BENCH_IDLE_BATCH (3),
// BENCH_IDLE_SETTLE_S (300), BENCH_IDLE_WINDOW_S (300), BENCH_IDLE_BASELINE_S (120),
// BENCH_IDLE_PHASES (old,new,image).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, docker, median, resultHeader, sleep, waitHealthz, waitQuiet } from './lib.mjs';

const N_WANTED = Number(process.env.BENCH_IDLE_N ?? 25);
const BATCH = Number(process.env.BENCH_IDLE_BATCH ?? 3);
const SETTLE_S = Number(process.env.BENCH_IDLE_SETTLE_S ?? 300);
const WINDOW_S = Number(process.env.BENCH_IDLE_WINDOW_S ?? 300);
const BASELINE_S = Number(process.env.BENCH_IDLE_BASELINE_S ?? 120);
const PHASES = (process.env.BENCH_IDLE_PHASES ?? 'old,new,image').split(',').map((phase) => phase.trim());
/** Samples per window, to show how steady it was. */
const SLICES = 5;

const IMAGE = 'crewclaw/runtime:dev';
const PREFIX = 'ccidle';
const BENCH_LABEL = 'org.crewclaw.bench';
const PLATFORM_LABEL = 'org.crewclaw.platform';
const SUBNET_POOL = '10.218.0.0/16';
const SOCKET = '/var/run/docker.sock';
// The platform's defaults (settings.ts).
const LIMITS = { memoryBytes: 2048 * 2 ** 20, nanoCpus: 2e9, pidsLimit: 512 };
/** What one idle runtime takes (about 600 to 800 MiB here) plus room, to decide how many fit. */
const MIB_PER_RUNTIME = 750;
const MEMORY_RESERVE_MIB = 2048;
/** Below this much available memory the run stops, rather than push the machine others use into the OOM killer. */
const MEMORY_FLOOR_MIB = 1024;
const TARGET_PERCENT = 0.5;

/** The health check runtimes had before this change: runtime-image/Dockerfile's node test, every 2 s. */
const OLD_NODE_TEST =
  "fetch('http://127.0.0.1:18789/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => r.json()).then((b) => process.exit(b && b.ok === true ? 0 : 1), () => process.exit(1))";
const HEALTHCHECKS = {
  old: { Test: ['CMD', 'node', '-e', OLD_NODE_TEST], Interval: 2e9, Timeout: 4e9, Retries: 3, StartPeriod: 120e9 },
  new: 'driver',
  image: 'image',
};
const TITLES = {
  old: 'old: node test every 2 s',
  new: 'new: as the driver ships',
  image: "image's own HEALTHCHECK",
};

/** /proc/PID/stat counts in clock ticks (USER_HZ). */
const TICK_NS = 1e9 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
const pct = (ns, seconds) => (ns / 1e9 / seconds) * 100;
const round2 = (value) => Number(value.toFixed(2));

/** utime+stime and cutime+cstime of a process, in ns; null when it is gone. */
function processTimes(pid) {
  let stat;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { own: (Number(fields[11]) + Number(fields[12])) * TICK_NS, children: (Number(fields[13]) + Number(fields[14])) * TICK_NS };
}

/** dockerd, containerd and each container's shim (by the -id it was started with). */
function daemonPids() {
  const found = { shims: {} };
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv;
    try {
      argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const name = path.basename(argv[0] ?? '');
    if (name === 'dockerd') found.dockerd = Number(entry);
    else if (name === 'containerd') found.containerd = Number(entry);
    else if (name === 'containerd-shim-runc-v2' && argv.includes('-id')) found.shims[argv[argv.indexOf('-id') + 1]] = Number(entry);
  }
  if (!found.dockerd || !found.containerd) throw new Error('dockerd and containerd must run on this host (not in a VM of their own) for this benchmark');
  return found;
}

function hostTimes() {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { idle: fields[3] + fields[4], total: fields.reduce((sum, value) => sum + value, 0) };
}

function cgroupDir(id) {
  const dir = `/sys/fs/cgroup/cpuacct/docker/${id}`;
  if (!fs.existsSync(dir)) throw new Error(`${dir} is missing: this benchmark reads cgroup v1 (cpuacct) as Docker 20.10 sets it up here`);
  return dir;
}

/** Everything the attribution needs, at one moment. */
function snapshot(ids) {
  const pids = daemonPids();
  const daemons = ['dockerd', 'containerd'].reduce((sum, name) => {
    const times = processTimes(pids[name]);
    return sum + times.own + times.children;
  }, 0);
  const containers = {};
  for (const id of ids) {
    const dir = cgroupDir(id);
    const processes = {};
    for (const pid of fs.readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n').filter(Boolean)) {
      const times = processTimes(pid);
      if (times) processes[pid] = times.own + times.children;
    }
    const shim = processTimes(pids.shims[id]);
    if (!shim) throw new Error(`no containerd shim found for container ${id}`);
    containers[id] = { cgroup: Number(fs.readFileSync(`${dir}/cpuacct.usage`, 'utf8')), processes, shim };
  }
  return { at: performance.now(), host: hostTimes(), daemons, containers };
}

/** CPU between two snapshots, per container (ns) and for the daemons and the host. */
function attribute(before, after, ids) {
  const seconds = (after.at - before.at) / 1000;
  const containers = ids.map((id) => {
    const a = before.containers[id];
    const b = after.containers[id];
    const cgroup = b.cgroup - a.cgroup;
    // Processes there at both ends (the gateway, its workers, docker-init) and what they reaped.
    let gateway = 0;
    for (const [pid, value] of Object.entries(b.processes)) if (pid in a.processes) gateway += value - a.processes[pid];
    // The rest ran and ended inside the container: health checks (runc init, then the test), reaped by the shim.
    const checks = Math.max(0, cgroup - gateway);
    const shim = b.shim.own - a.shim.own;
    const runc = Math.max(0, b.shim.children - a.shim.children - checks);
    return { cgroup, gateway: Math.min(gateway, cgroup), checks, shim, runc };
  });
  const hostBusy = 1 - (after.host.idle - before.host.idle) / Math.max(1, after.host.total - before.host.total);
  return { seconds, containers, daemons: after.daemons - before.daemons, hostBusyPercentOfAllCores: round2(hostBusy * 100) };
}

/** Containers on the host that are not this benchmark's, and how many of them run a health check. */
async function otherContainers() {
  const lines = (await docker('ps', '--format', `{{.ID}}\t{{.Names}}\t{{.Label "${BENCH_LABEL}"}}\t{{.Status}}`)).split('\n').filter(Boolean);
  const others = lines.map((line) => line.split('\t')).filter(([, , label]) => label !== 'idle');
  const withHealthCheck = others.filter(([, , , status]) => /\((healthy|unhealthy|health: starting)\)/.test(status));
  return { count: others.length, withHealthCheck: withHealthCheck.length, names: others.map(([, name]) => name) };
}

/** Removes every container, network and volume this benchmark can have made, and nothing else. */
async function removeBenchResources() {
  const ours = (name) => name.startsWith(`${PREFIX}-`);
  const filter = `label=${PLATFORM_LABEL}=${PREFIX}`;
  const containers = (await docker('ps', '-a', '--filter', filter, '--format', '{{.Names}}')).split('\n').filter(ours);
  if (containers.length) await docker('rm', '-f', ...containers);
  // By id: a name can be ambiguous (two networks made under one name by racing creates).
  const networks = (await docker('network', 'ls', '--filter', filter, '--format', '{{.ID}}\t{{.Name}}')).split('\n').map((line) => line.split('\t'));
  for (const [id, name] of networks) {
    if (!name || !ours(name)) continue;
    // Docker 20.10 can keep a stale endpoint on a bridge ("has active endpoints" with no container on it;
    // seen here once, after 25 runtimes on the egress network were removed): say so; the next run reuses it.
    await docker('network', 'rm', id).catch((error) => console.error(`  could not remove network ${name}: ${error.message}`));
  }
  const volumes = (await docker('volume', 'ls', '--filter', filter, '--format', '{{.Name}}')).split('\n').filter(ours);
  if (volumes.length) await docker('volume', 'rm', '-f', ...volumes);
}

function memAvailableMiB() {
  return Number(/MemAvailable:\s+(\d+)/.exec(fs.readFileSync('/proc/meminfo', 'utf8'))[1]) / 1024;
}

function checkMemory() {
  const available = memAvailableMiB();
  if (available < MEMORY_FLOOR_MIB) throw new Error(`only ${Math.round(available)} MiB of memory left: stopped, and everything of this benchmark removed`);
}

export async function run() {
  if (!fs.existsSync(path.join(ROOT, 'dist/server/main.js'))) throw new Error('Run `npm run build` first.');
  if (process.getuid?.() !== 0) throw new Error('Run as root: it reads dockerd, containerd and shim times from /proc.');
  await docker('image', 'inspect', '--format', '{{.Id}}', IMAGE).catch(() => {
    throw new Error(`${IMAGE} is missing: run ./scripts/build-images.sh runtime`);
  });
  const { DockerDriver } = await import('../dist/server/runtimes/docker/docker-driver.js');
  const { PLATFORM_CONFIG_ENV, platformOpenClawConfig } = await import('../dist/server/runtimes/openclaw-config.js');
  const { subnetPlan } = await import('../dist/server/runtimes/runtime-names.js');

  /** A driver whose containers get `healthcheck` ('driver': its own setting; 'image': the image's). */
  function driverWith(healthcheck) {
    const driver = new DockerDriver({ socketPath: SOCKET, prefix: PREFIX, subnetPool: SUBNET_POOL, extraLabels: { [BENCH_LABEL]: 'idle' } });
    if (healthcheck !== 'driver') {
      // The one field that differs: everything else of the driver's create() stays as it ships.
      const client = driver.docker;
      const createContainer = client.createContainer.bind(client);
      client.createContainer = (options) => {
        const { Healthcheck: _shipped, ...rest } = options;
        return createContainer(healthcheck === 'image' ? rest : { ...rest, Healthcheck: healthcheck });
      };
    }
    return driver;
  }

  function specFor(username, subnetIndex) {
    const plan = subnetPlan(SUBNET_POOL, subnetIndex);
    const config = platformOpenClawConfig({
      username,
      runtimeUrl: 'http://localhost:8081',
      proxyAddress: plan.proxy,
      modelBaseUrl: 'http://control-plane:3000/v1',
      runtimeToken: `ccrt_bench_${username}`,
    });
    return { username, image: IMAGE, limits: LIMITS, subnetIndex, env: { [PLATFORM_CONFIG_ENV]: JSON.stringify(config) }, labels: {}, specHash: 'bench' };
  }

  const available = memAvailableMiB();
  const fits = Math.max(1, Math.floor((available - MEMORY_RESERVE_MIB) / MIB_PER_RUNTIME));
  const n = Math.min(N_WANTED, fits);
  if (n < N_WANTED) console.log(`  only ${n} runtimes fit in ${Math.round(available)} MiB available (wanted ${N_WANTED})`);

  try {
    await removeBenchResources();
    await waitQuiet({ maxMs: 60_000 });

    // The daemons' background rate, with no runtime of ours: here, and again after the last phase.
    const baselines = [];
    async function measureBaseline(when) {
      const others = await otherContainers();
      const slices = [];
      let previous = snapshot([]);
      for (let slice = 0; slice < SLICES; slice += 1) {
        await sleep((BASELINE_S / SLICES) * 1000);
        const now = snapshot([]);
        const used = attribute(previous, now, []);
        slices.push({ daemonsPercent: round2(pct(used.daemons, used.seconds)), hostBusyPercentOfAllCores: used.hostBusyPercentOfAllCores });
        previous = now;
      }
      baselines.push({ when, slices, others });
      console.log(`  baseline ${when}, ${BASELINE_S} s: dockerd+containerd ${slices.map((x) => x.daemonsPercent).join(', ')} % of a core; ${others.count} other containers`);
    }
    await measureBaseline('before');

    const phases = {};
    for (const phase of PHASES) {
      if (!(phase in HEALTHCHECKS)) throw new Error(`unknown phase ${phase}: choose from ${Object.keys(HEALTHCHECKS).join(', ')}`);
      const driver = driverWith(HEALTHCHECKS[phase]);
      const users = Array.from({ length: n }, (_, i) => ({ username: `${phase}${i}`, subnetIndex: i }));
      const startMs = [];
      const began = performance.now();
      for (let first = 0; first < n; first += BATCH) {
        const batch = users.slice(first, first + BATCH);
        const t0 = performance.now();
        // Made one after the other (a fraction of a second each): the driver's first create makes the
        // shared egress network, and two racing creates can make two of that name. Started together.
        for (const user of batch) await driver.create(specFor(user.username, user.subnetIndex));
        await Promise.all(
          batch.map(async (user) => {
            await driver.start(user.username, user.subnetIndex);
            const found = await driver.find(user.username);
            if (!found?.address) throw new Error(`${user.username}: no address after start`);
            user.id = found.id;
            await waitHealthz(found.address.host, found.address.port, { intervalMs: 250, timeoutMs: 600_000 });
          }),
        );
        startMs.push(Math.round(performance.now() - t0));
        checkMemory();
        console.log(`  ${phase}: ${Math.min(first + BATCH, n)}/${n} healthy (batch ${startMs.at(-1)} ms)`);
      }
      const allUpMs = Math.round(performance.now() - began);
      const inspected = JSON.parse(await docker('inspect', '--format', '{{json .Config.Healthcheck}}', users[0].id));
      console.log(`  ${phase}: all ${n} up in ${allUpMs} ms; health check ${JSON.stringify(inspected?.Test?.slice(0, 2) ?? null)}; settling ${SETTLE_S} s`);
      for (let waited = 0; waited < SETTLE_S; waited += 30) {
        await sleep(Math.min(30, SETTLE_S - waited) * 1000);
        checkMemory();
      }

      const ids = users.map((user) => user.id);
      const slices = [];
      const othersSeen = await otherContainers();
      let previous = snapshot(ids);
      const first = previous;
      for (let slice = 0; slice < SLICES; slice += 1) {
        await sleep((WINDOW_S / SLICES) * 1000);
        checkMemory();
        const now = snapshot(ids);
        const used = attribute(previous, now, ids);
        slices.push({
          perRuntimeWithoutDaemonsPercent: round2(pct(used.containers.reduce((sum, c) => sum + c.cgroup + c.shim + c.runc, 0), used.seconds) / n),
          daemonsPercent: round2(pct(used.daemons, used.seconds)),
          hostBusyPercentOfAllCores: used.hostBusyPercentOfAllCores,
        });
        previous = now;
      }
      const used = attribute(first, previous, ids);
      const sum = (key) => used.containers.reduce((total, c) => total + c[key], 0);
      const perRuntime = (ns) => round2(pct(ns, used.seconds) / n);
      const parts = {
        gateway: perRuntime(sum('gateway')),
        checksInContainer: perRuntime(sum('checks')),
        shim: perRuntime(sum('shim')),
        runc: perRuntime(sum('runc')),
      };
      const eachRuntime = used.containers.map((c) => round2(pct(c.cgroup + c.shim + c.runc, used.seconds)));
      phases[phase] = {
        title: TITLES[phase],
        healthcheck: inspected,
        runtimes: n,
        startBatchMs: startMs,
        medianBatchMs: median(startMs),
        allUpMs,
        windowSeconds: round2(used.seconds),
        perRuntimePercent: parts,
        eachRuntimeWithoutDaemonsPercent: { min: Math.min(...eachRuntime), median: round2(median(eachRuntime)), max: Math.max(...eachRuntime) },
        daemonsPercent: round2(median(slices.map((x) => x.daemonsPercent))),
        slices,
        hostBusyPercentOfAllCores: used.hostBusyPercentOfAllCores,
        others: othersSeen,
      };
      console.log(`  ${phase}: per runtime ${JSON.stringify(parts)} % of a core, dockerd+containerd ${phases[phase].daemonsPercent} % for all; host ${used.hostBusyPercentOfAllCores} % busy`);
      await removeBenchResources();
      await waitQuiet({ maxMs: 120_000 });
    }
    await measureBaseline('after');

    // Now the daemons' share of each phase, against the background of both baselines.
    const baseline = {
      daemonsPercent: round2(median(baselines.flatMap((b) => b.slices.map((x) => x.daemonsPercent)))),
      hostBusyPercentOfAllCores: round2(median(baselines.flatMap((b) => b.slices.map((x) => x.hostBusyPercentOfAllCores)))),
      windows: baselines,
    };
    for (const r of Object.values(phases)) {
      const p = r.perRuntimePercent;
      p.daemonsShare = round2(Math.max(0, r.daemonsPercent - baseline.daemonsPercent) / n);
      p.total = round2(p.gateway + p.checksInContainer + p.shim + p.runc + p.daemonsShare);
      r.allRuntimesPercentOfACore = round2(p.total * n);
    }

    const result = {
      ...(await resultHeader('idle runtimes: host CPU by health check setting', IMAGE)),
      runtimes: n,
      batch: BATCH,
      settleSeconds: SETTLE_S,
      windowSeconds: WINDOW_S,
      baseline,
      phases,
    };
    if (phases.old && phases.new) result.ratioOldToNew = round2(phases.old.perRuntimePercent.total / Math.max(0.01, phases.new.perRuntimePercent.total));
    result.targets = Object.fromEntries(Object.entries(phases).map(([phase, r]) => [`${phase}AtMost${TARGET_PERCENT}PercentPerRuntime`, r.perRuntimePercent.total <= TARGET_PERCENT]));

    const verdict = (met) => (met ? 'met' : 'MISSED');
    const row = (phase) => {
      const r = phases[phase];
      const p = r.perRuntimePercent;
      return `  ${r.title.padEnd(26)} ${String(p.total).padStart(6)} %  (gateway ${p.gateway}, checks in container ${p.checksInContainer}, shim ${p.shim}, runc ${p.runc}, dockerd+containerd ${p.daemonsShare})   all ${n}: ${r.allRuntimesPercentOfACore} % of a core; host ${r.hostBusyPercentOfAllCores} % busy; batch of ${BATCH} healthy in ${r.medianBatchMs} ms (median)   target <= ${TARGET_PERCENT} %: ${verdict(p.total <= TARGET_PERCENT)}`;
    };
    console.log(`
Idle runtimes (${result.machine}, Docker ${result.docker}, ${IMAGE}), ${n} runtimes, ${WINDOW_S} s window after ${SETTLE_S} s settling
  % of one core per idle runtime:
${Object.keys(phases).map(row).join('\n')}
  baseline: dockerd+containerd ${baseline.daemonsPercent} % of a core with none of ours (median of ${SLICES * baselines.length} slices); host ${baseline.hostBusyPercentOfAllCores} % busy
${result.ratioOldToNew !== undefined ? `  ratio old / new: ${result.ratioOldToNew}` : ''}`);
    return result;
  } finally {
    await removeBenchResources().catch((error) => console.error(`cleanup failed: ${error.message}`));
  }
}
