// Issue #3 benchmark: what the platform adds to starting and running an OpenClaw
// runtime, each measure side by side with plain Docker in the same run.
//   1. first start through POST /api/runtime/start (fresh user, network, volume)
//      vs `docker run -d` of the same image with the same limits, until /healthz ok
//   2. start of a stopped runtime through the API vs `docker start`
//   3. ten users starting at once vs one alone (and the same for bare containers)
//   4. idle memory of a platform runtime vs a bare one; control plane RSS with ten running
// Targets: 1 and 2 ratio <= 1.10; 3 <= 3x; memory ratio <= 1.05; control plane < 150 MB.
//
// Everything it makes is named ccbench-* (platform: ccbench-rt-*, bare: ccbench-bare-*) and
// labelled (org.crewclaw.platform=ccbench, or org.crewclaw.bench=1), and removed again, also
// after a failure. Run it alone: `flock /tmp/crewclaw-docker.lock npm run bench runtime`.
// BENCH_REPEATS (5), BENCH_FLEET (10) and BENCH_SETTLE_S (45) make shorter trial runs possible;
// BENCH_CONTROL_PLANE_ENV (JSON) adds environment variables to the control plane, to try a setting.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  CONTROL_PLANE_AS_SHIPPED,
  ROOT,
  cookieOf,
  docker,
  freePort,
  listenEvents,
  resultHeader,
  median,
  peakRssMiB,
  request,
  rssMiB,
  sleep,
  startControlPlane,
  tempDir,
  waitFor,
  waitHealthz,
  waitQuiet,
} from './lib.mjs';

const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const FLEET = Number(process.env.BENCH_FLEET ?? 10);
const SETTLE_S = Number(process.env.BENCH_SETTLE_S ?? 45);
const EXTRA_ENV = CONTROL_PLANE_AS_SHIPPED.env;

const IMAGE = 'crewclaw/runtime:dev';
const PREFIX = 'ccbench';
const BARE = `${PREFIX}-bare`;
const BENCH_LABEL = 'org.crewclaw.bench=1';
const PLATFORM_LABEL = `org.crewclaw.platform=${PREFIX}`;
const SUBNET_POOL = '10.215.0.0/16';
// Bare networks take /28s from the top of the same private range, far from the platform's first indexes.
const BARE_POOL = '10.215.240.0/20';
// The platform's defaults (settings.ts), given to both sides explicitly.
const LIMITS = { memoryMb: 2048, cpus: 2, pids: 512 };
const STOP_GRACE_S = 10;
const PUBLIC_URL = 'http://localhost:8080';
// The platform's default runtime origin: the bare side gets the same OpenClaw config.
const RUNTIME_URL = 'http://localhost:8081';
const MODEL_BASE_URL = 'http://control-plane:3000/v1';

const round = (value) => Math.round(value);
const ratio = (ours, base) => Number((ours / base).toFixed(2));

/** Removes every container, network and volume this benchmark can have made, and nothing else. */
async function removeBenchResources() {
  const ours = (name) => name.startsWith(`${PREFIX}-`);
  for (const filter of [PLATFORM_LABEL, BENCH_LABEL]) {
    const containers = (await docker('ps', '-a', '--filter', `label=${filter}`, '--format', '{{.Names}}')).split('\n').filter(ours);
    if (containers.length) await docker('rm', '-f', ...containers);
  }
  for (const filter of [PLATFORM_LABEL, BENCH_LABEL]) {
    const networks = (await docker('network', 'ls', '--filter', `label=${filter}`, '--format', '{{.Name}}')).split('\n').filter(ours);
    for (const network of networks) await docker('network', 'rm', network).catch(() => {});
    const volumes = (await docker('volume', 'ls', '--filter', `label=${filter}`, '--format', '{{.Name}}')).split('\n').filter(ours);
    if (volumes.length) await docker('volume', 'rm', '-f', ...volumes);
  }
}

/** Memory of containers as `docker stats` shows it (usage without page cache), in MiB. */
async function statsMiB(names) {
  const out = await docker('stats', '--no-stream', '--format', '{{.Name}}\t{{.MemUsage}}', ...names);
  const units = { B: 1 / 2 ** 20, KiB: 1 / 1024, kB: 1 / 1024, MiB: 1, MB: 1, GiB: 1024, GB: 1024 };
  const result = {};
  for (const line of out.split('\n')) {
    const [name, usage] = line.split('\t');
    const match = /^([\d.]+)\s*([A-Za-z]+)/.exec(usage ?? '');
    if (name && match) result[name] = Number((Number(match[1]) * units[match[2]]).toFixed(1));
  }
  return result;
}

export async function run() {
  if (!fs.existsSync(path.join(ROOT, 'dist/server/main.js'))) throw new Error('Run `npm run build` first.');
  await docker('image', 'inspect', '--format', '{{.Id}}', IMAGE).catch(() => {
    throw new Error(`${IMAGE} is missing: run ./scripts/build-images.sh runtime`);
  });
  // The platform's own names, addresses and config, so the bare side gets exactly the same.
  const { GATEWAY_PORT, STATE_DIR, subnetPlan } = await import('../dist/server/runtimes/runtime-names.js');
  const { PLATFORM_CONFIG_ENV, platformOpenClawConfig } = await import('../dist/server/runtimes/openclaw-config.js');

  // ---- bare Docker, the baseline ----
  const bare = (index) => {
    const plan = subnetPlan(BARE_POOL, index);
    const username = `bare${index}`;
    return { index, username, plan, container: `${BARE}-rt-${index}`, volume: `${BARE}-home-${index}`, network: `${BARE}-net-${index}` };
  };
  /** The network and volume exist before `docker run` is timed; the time to make the network is kept. */
  async function bareResources(b) {
    const began = performance.now();
    await docker('network', 'create', '--driver', 'bridge', '--label', BENCH_LABEL, '--subnet', b.plan.subnet, '--gateway', b.plan.gateway, b.network);
    const networkMs = performance.now() - began;
    await docker('volume', 'create', '--label', BENCH_LABEL, b.volume);
    return networkMs;
  }
  /** The same container the Docker driver creates (docker-driver.ts `create`), through the CLI. */
  function bareRunArgs(b) {
    const config = platformOpenClawConfig({
      username: b.username,
      runtimeUrl: RUNTIME_URL,
      proxyAddress: b.plan.proxy,
      modelBaseUrl: MODEL_BASE_URL,
      runtimeToken: `ccrt_${crypto.randomBytes(32).toString('base64url')}`,
    });
    return [
      'run', '-d', '--name', b.container, '--label', BENCH_LABEL, '--hostname', `openclaw-${b.username}`,
      '--network', b.network, '--ip', b.plan.runtime,
      '--mount', `type=volume,source=${b.volume},target=${STATE_DIR}`,
      '--memory', `${LIMITS.memoryMb}m`, '--memory-swap', `${LIMITS.memoryMb}m`, '--cpus', String(LIMITS.cpus), '--pids-limit', String(LIMITS.pids),
      '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges:true', '--init',
      '--restart', 'unless-stopped', '--log-driver', 'json-file', '--log-opt', 'max-size=10m', '--log-opt', 'max-file=3',
      '--no-healthcheck',
      '--env', `${PLATFORM_CONFIG_ENV}=${JSON.stringify(config)}`,
      IMAGE,
    ];
  }
  async function bareFirstStart(b) {
    const began = performance.now();
    await docker(...bareRunArgs(b));
    const dockerMs = performance.now() - began;
    const healthy = await waitHealthz(b.plan.runtime, GATEWAY_PORT);
    return { ms: round(healthy - began), dockerRunMs: round(dockerMs) };
  }
  async function bareRestart(b) {
    let began = performance.now();
    await docker('stop', '-t', String(STOP_GRACE_S), b.container);
    const stopMs = performance.now() - began;
    began = performance.now();
    await docker('start', b.container);
    const dockerMs = performance.now() - began;
    const healthy = await waitHealthz(b.plan.runtime, GATEWAY_PORT);
    return { ms: round(healthy - began), dockerStartMs: round(dockerMs), stopMs: round(stopMs) };
  }

  // ---- the platform ----
  const dataDir = tempDir();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let server;
  try {
    await removeBenchResources();
    server = startControlPlane({
      port,
      dataDir,
      env: {
        PUBLIC_URL,
        RUNTIME_IMAGE: IMAGE,
        RUNTIME_NAME_PREFIX: PREFIX,
        RUNTIME_SUBNET_POOL: SUBNET_POOL,
        RUNTIME_MEMORY_MB: String(LIMITS.memoryMb),
        RUNTIME_CPUS: String(LIMITS.cpus),
        RUNTIME_PIDS_LIMIT: String(LIMITS.pids),
        // Ten starts at once on two cores may outlast the default 180 s; the figures say whether they did.
        RUNTIME_START_TIMEOUT_SECONDS: '900',
        IDLE_STOP_MINUTES: '0',
      },
    });
    await waitFor(`${base}/api/ready`);
    await sleep(3000);
    const readyRss = rssMiB(server.child.pid);

    const setup = await request(`${base}/api/setup`, { method: 'POST', body: { username: 'admin', password: 'bench-admin-password' } });
    if (setup.status !== 201) throw new Error(`setup failed: ${setup.status} ${JSON.stringify(setup.body)}`);
    const admin = { cookie: cookieOf(setup), csrf: setup.body.csrfToken };
    const signUp = async (username) => {
      const password = `${username}-bench-password`;
      const created = await request(`${base}/api/users`, {
        method: 'POST',
        headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf },
        body: { username, password, role: 'user' },
      });
      if (created.status !== 201) throw new Error(`creating ${username} failed: ${created.status} ${JSON.stringify(created.body)}`);
      const login = await request(`${base}/api/auth/login`, { method: 'POST', body: { username, password } });
      if (login.status !== 200) throw new Error(`${username} could not sign in: ${login.status}`);
      return { username, headers: { cookie: cookieOf(login), 'x-csrf-token': login.body.csrfToken } };
    };
    const singles = [];
    for (let i = 0; i < REPEATS; i += 1) singles.push(await signUp(`bench${i}`));
    const crew = [];
    for (let i = 0; i < FLEET; i += 1) crew.push(await signUp(`crew${i}`));
    const ipOf = (username) =>
      docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${PREFIX}-net-${username}").IPAddress}}`, `${PREFIX}-rt-${username}`);

    /**
     * POST /api/runtime/start, timed until its answer. Alongside, the steps the platform reports on its
     * events stream, and (observe) our own 50 ms /healthz poll of the container from the moment the
     * platform starts waiting for it: the gap between that and the answer is what the platform's own
     * waiting costs.
     */
    async function apiStart(user, { observe = true } = {}) {
      const steps = {};
      let healthyAt = null;
      let observer = Promise.resolve();
      const began = performance.now();
      const close = observe
        ? listenEvents(`${base}/api/runtime/events`, { cookie: user.headers.cookie }, (event, data) => {
            if (event !== 'step') return;
            steps[data.step] = round(performance.now() - began);
            if (data.step === 'waiting for health') {
              observer = ipOf(user.username)
                .then((ip) => waitHealthz(ip, GATEWAY_PORT))
                .then((at) => (healthyAt = at))
                .catch(() => {});
            }
          })
        : () => {};
      // Let the events stream subscribe before the start begins.
      if (observe) await sleep(200);
      const t0 = performance.now();
      const response = await request(`${base}/api/runtime/start`, { method: 'POST', headers: user.headers });
      const ms = performance.now() - t0;
      await observer;
      close();
      if (response.status !== 200 || response.body.runtime?.state !== 'running') {
        throw new Error(`start of ${user.username}: ${response.status} ${JSON.stringify(response.body)}`);
      }
      const shift = t0 - began; // steps were timed from `began`
      for (const key of Object.keys(steps)) steps[key] = round(steps[key] - shift);
      return { ms: round(ms), steps, ...(healthyAt !== null && { healthyAtMs: round(healthyAt - t0) }) };
    }
    async function apiStop(user) {
      const began = performance.now();
      const response = await request(`${base}/api/runtime/stop`, { method: 'POST', headers: user.headers });
      if (response.status !== 200) throw new Error(`stop of ${user.username}: ${response.status} ${JSON.stringify(response.body)}`);
      return round(performance.now() - began);
    }

    // Every sign-in hashes a password with argon2 (19 MiB per hash): read memory once they are done.
    await sleep(3000);
    const signedInRss = rssMiB(server.child.pid);
    await waitQuiet();

    // ---- 1. first start ----
    const first = { api: [], bare: [], networkCreateMs: [] };
    for (let i = 0; i < REPEATS; i += 1) {
      const b = bare(i);
      first.networkCreateMs.push(round(await bareResources(b)));
      const order = i % 2 === 0 ? ['bare', 'api'] : ['api', 'bare'];
      for (const side of order) {
        if (side === 'bare') first.bare.push(await bareFirstStart(b));
        else first.api.push(await apiStart(singles[i]));
        await waitQuiet();
      }
      console.log(`  first start #${i + 1}: api ${first.api.at(-1).ms} ms, bare ${first.bare.at(-1).ms} ms`);
    }

    // ---- 2. start of a stopped runtime ----
    const again = { api: [], bare: [], apiStopMs: [] };
    for (let i = 0; i < REPEATS; i += 1) {
      const order = i % 2 === 0 ? ['api', 'bare'] : ['bare', 'api'];
      for (const side of order) {
        if (side === 'bare') again.bare.push(await bareRestart(bare(i)));
        else {
          again.apiStopMs.push(await apiStop(singles[i]));
          again.api.push(await apiStart(singles[i]));
        }
        await waitQuiet();
      }
      console.log(`  start after stop #${i + 1}: api ${again.api.at(-1).ms} ms, bare ${again.bare.at(-1).ms} ms`);
    }
    // Out of the way of the fleet: stop them all.
    await Promise.all([...singles.map(apiStop), ...Array.from({ length: REPEATS }, (_, i) => docker('stop', '-t', String(STOP_GRACE_S), bare(i).container))]);
    await waitQuiet();

    // ---- 3 and 4. ten at once, then their idle memory ----
    const fleetApi = {};
    {
      const began = performance.now();
      const done = await Promise.all(
        crew.map(async (user) => {
          await apiStart(user, { observe: false });
          return round(performance.now() - began);
        }),
      );
      fleetApi.allRunningMs = Math.max(...done);
      fleetApi.eachMs = done.sort((a, b) => a - b);
      fleetApi.controlPlaneRssMiB = Number(rssMiB(server.child.pid).toFixed(1));
      fleetApi.controlPlanePeakRssMiB = Number(peakRssMiB(server.child.pid).toFixed(1));
      console.log(`  ${FLEET} at once through the API: ${fleetApi.allRunningMs} ms; settling ${SETTLE_S} s`);
      await sleep(SETTLE_S * 1000);
      await waitQuiet({ maxMs: 30_000 });
      // What the web UI does while they run: each user reads their runtime's state (with usage).
      await Promise.all(crew.map((user) => request(`${base}/api/runtime`, { headers: { cookie: user.headers.cookie } })));
      const list = await request(`${base}/api/admin/runtimes`, { headers: { cookie: admin.cookie } });
      if (list.status !== 200) throw new Error(`admin runtime list: ${list.status}`);
      fleetApi.idleMemoryMiB = await statsMiB(crew.map((user) => `${PREFIX}-rt-${user.username}`));
      fleetApi.controlPlaneRssIdleMiB = Number(rssMiB(server.child.pid).toFixed(1));
      fleetApi.controlPlanePeakRssMiB = Number(peakRssMiB(server.child.pid).toFixed(1));
      await Promise.all(crew.map(apiStop));
      await waitQuiet();
    }
    const fleetBare = {};
    {
      const members = Array.from({ length: FLEET }, (_, i) => bare(REPEATS + i));
      for (const b of members) await bareResources(b);
      await waitQuiet();
      const began = performance.now();
      const done = await Promise.all(
        members.map(async (b) => {
          await docker(...bareRunArgs(b));
          await waitHealthz(b.plan.runtime, GATEWAY_PORT, { timeoutMs: 900_000 });
          return round(performance.now() - began);
        }),
      );
      fleetBare.allRunningMs = Math.max(...done);
      fleetBare.eachMs = done.sort((a, b) => a - b);
      console.log(`  ${FLEET} at once with docker run: ${fleetBare.allRunningMs} ms; settling ${SETTLE_S} s`);
      await sleep(SETTLE_S * 1000);
      await waitQuiet({ maxMs: 30_000 });
      fleetBare.idleMemoryMiB = await statsMiB(members.map((b) => b.container));
    }

    // ---- results ----
    const firstApi = median(first.api.map((r) => r.ms));
    const firstBare = median(first.bare.map((r) => r.ms));
    const againApi = median(again.api.map((r) => r.ms));
    const againBare = median(again.bare.map((r) => r.ms));
    const memApi = Number(median(Object.values(fleetApi.idleMemoryMiB)).toFixed(1));
    const memBare = Number(median(Object.values(fleetBare.idleMemoryMiB)).toFixed(1));
    const cpRss = Math.max(fleetApi.controlPlaneRssMiB, fleetApi.controlPlaneRssIdleMiB);
    const result = {
      ...(await resultHeader('runtimes: start to ready, restart, ten at once, memory', IMAGE)),
      limits: LIMITS,
      repeats: REPEATS,
      fleet: FLEET,
      settleSeconds: SETTLE_S,
      controlPlaneExtraEnv: EXTRA_ENV,
      firstStart: { ...first, medianApiMs: firstApi, medianBareMs: firstBare, ratio: ratio(firstApi, firstBare) },
      startStopped: { ...again, medianApiMs: againApi, medianBareMs: againBare, ratio: ratio(againApi, againBare) },
      tenAtOnce: {
        api: fleetApi,
        bare: fleetBare,
        ratioToOneAlone: ratio(fleetApi.allRunningMs, firstApi),
        bareRatioToOneAlone: ratio(fleetBare.allRunningMs, firstBare),
      },
      memory: {
        medianApiMiB: memApi,
        medianBareMiB: memBare,
        ratio: ratio(memApi, memBare),
        controlPlaneReadyRssMiB: Number(readyRss.toFixed(1)),
        controlPlaneSignedInRssMiB: Number(signedInRss.toFixed(1)),
        controlPlaneRssWithTenMiB: cpRss,
      },
    };
    result.targets = {
      firstStartRatioAtMost110: result.firstStart.ratio <= 1.1,
      startStoppedRatioAtMost110: result.startStopped.ratio <= 1.1,
      tenAtOnceAtMost3x: result.tenAtOnce.ratioToOneAlone <= 3,
      idleMemoryRatioAtMost105: result.memory.ratio <= 1.05,
      controlPlaneRssUnder150MB: cpRss * 1.048576 < 150,
    };
    const verdict = (met) => (met ? 'met' : 'MISSED');
    const stepsOf = (runs) => runs.map((r) => `{${Object.entries(r.steps).map(([k, v]) => `${k} ${v}`).join(', ')}; own poll healthy ${r.healthyAtMs ?? '?'}; answer ${r.ms}}`).join('\n                      ');
    console.log(`
Runtimes (${result.machine}, Docker ${result.docker}, ${IMAGE})
  first start      API ${firstApi} ms   bare docker run ${firstBare} ms   ratio ${result.firstStart.ratio}   target <= 1.10: ${verdict(result.targets.firstStartRatioAtMost110)}
                   API runs ${first.api.map((r) => r.ms).join(', ')}; bare runs ${first.bare.map((r) => r.ms).join(', ')}; docker run -d itself ${first.bare.map((r) => r.dockerRunMs).join(', ')} ms; docker network create ${first.networkCreateMs.join(', ')} ms
                   API steps (ms from the request): ${stepsOf(first.api)}
  start stopped    API ${againApi} ms   bare docker start ${againBare} ms   ratio ${result.startStopped.ratio}   target <= 1.10: ${verdict(result.targets.startStoppedRatioAtMost110)}
                   API runs ${again.api.map((r) => r.ms).join(', ')}; bare runs ${again.bare.map((r) => r.ms).join(', ')}; docker start itself ${again.bare.map((r) => r.dockerStartMs).join(', ')} ms
                   stop: API ${again.apiStopMs.join(', ')} ms; docker stop ${again.bare.map((r) => r.stopMs).join(', ')} ms
                   API steps (ms from the request): ${stepsOf(again.api)}
  ${FLEET} at once      API all running ${fleetApi.allRunningMs} ms = ${result.tenAtOnce.ratioToOneAlone} × one alone   target <= 3: ${verdict(result.targets.tenAtOnceAtMost3x)}
                   bare all healthy ${fleetBare.allRunningMs} ms = ${result.tenAtOnce.bareRatioToOneAlone} × one alone
  idle memory      API median ${memApi} MiB   bare median ${memBare} MiB   ratio ${result.memory.ratio}   target <= 1.05: ${verdict(result.targets.idleMemoryRatioAtMost105)}
  control plane    RSS at ready ${result.memory.controlPlaneReadyRssMiB} MiB, after ${1 + REPEATS + FLEET} sign-ins ${result.memory.controlPlaneSignedInRssMiB} MiB, with ${FLEET} running ${cpRss} MiB (peak ${fleetApi.controlPlanePeakRssMiB} MiB)   target < 150 MB: ${verdict(result.targets.controlPlaneRssUnder150MB)}`);
    return result;
  } finally {
    await server?.stop();
    await removeBenchResources().catch((error) => console.error(`cleanup failed: ${error.message}`));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
