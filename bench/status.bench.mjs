// Issue #8 item 9 benchmark: reading a runtime's state under load, before and after state reads
// stopped waiting for Docker's one-shot stats (50cb678), side by side in one run.
//   before  the server of BENCH_BASELINE_REV (default 831404d, before the fix), built
//           in a temporary git worktree; every GET /api/runtime of a running runtime asked Docker for
//           one-shot stats, which Docker 20.10 answers on its once-a-second collector tick
//   after   the current checkout's dist (built first if server/src is newer), or the server of
//           BENCH_AFTER_REV built the same way as "before" (to leave uncommitted work out)
// Both control planes run on the host as the image runs them (CONTROL_PLANE_AS_SHIPPED), each with its
// own data dir, port, name prefix and subnet pool, against the same Docker daemon and runtime image.
// On each: the first admin signs up, BENCH_USERS - 1 more users are made (5 in all), and
// BENCH_RUNNING of them (2: the admin and one user) get their runtime started through
// POST /api/runtime/start, one at a time. Then, one control plane after the other, autocannon with 200
// connections for 10 s (after a 2 s warm-up) against:
//   GET /api/runtime         the admin's own running runtime;
//   GET /api/admin/runtimes  every user's runtime (2 running, the rest never started);
// and, on "after" only, GET /api/me: the same signed-in request path without Docker, the floor.
// BENCH_ROUNDS (1) repeats the whole sequence, before and after alternating. Alongside each load, the CPU
// the control plane, dockerd and the whole host used (from /proc), and the latencies split into each
// connection's first answer and the later ones, to tell where the time goes: a saturated control plane
// takes new connections on slowly, and those first answers alone can make the p99.
// Any non-2xx answer, error or timeout (30 s, so a slow answer counts as latency, not as an error) fails
// the run.
//
// Everything Docker holds for it is made by the two control planes: named ccstat-old-* and ccstat-new-*,
// labelled org.crewclaw.platform=ccstat-old / ccstat-new, on 10.221.0.0/16, and removed again, also
// after a failure; so is the worktree. Run it alone: `flock /tmp/crewclaw-docker.lock npm run bench status`.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  ROOT,
  cookieOf,
  docker,
  freePort,
  load,
  resultHeader,
  request,
  sleep,
  startControlPlane,
  tempDir,
  waitFor,
  waitQuiet,
} from './lib.mjs';

const BASELINE_REV = process.env.BENCH_BASELINE_REV ?? '831404d';
const AFTER_REV = process.env.BENCH_AFTER_REV || null;
const USERS = Number(process.env.BENCH_USERS ?? 5);
const RUNNING = Number(process.env.BENCH_RUNNING ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const CONNECTIONS = 200;
const DURATION_S = 10;
const WARMUP_S = 2;
const TIMEOUT_S = 30;

const IMAGE = 'crewclaw/runtime:dev';
const PREFIX = 'ccstat';
const SIDES = {
  before: { prefix: `${PREFIX}-old`, pool: '10.221.0.0/17' },
  after: { prefix: `${PREFIX}-new`, pool: '10.221.128.0/17' },
};
const PUBLIC_URL = 'http://localhost:8080';

const ratio = (a, b) => Number((a / Math.max(b, 1)).toFixed(2));

function exec(command, args, cwd) {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} (in ${cwd}): ${(stderr || stdout).trim() || error.message}`));
      else resolve(stdout.trim());
    });
  });
}
const git = (...args) => exec('git', args, ROOT);

/** Removes every container, network and volume the two control planes can have made, and nothing else. */
async function removeBenchResources() {
  const ours = (name) => name.startsWith(`${PREFIX}-`);
  const labels = Object.values(SIDES).map((side) => `org.crewclaw.platform=${side.prefix}`);
  for (const label of labels) {
    const containers = (await docker('ps', '-a', '--filter', `label=${label}`, '--format', '{{.Names}}')).split('\n').filter(ours);
    if (containers.length) await docker('rm', '-f', ...containers);
  }
  for (const label of labels) {
    const networks = (await docker('network', 'ls', '--filter', `label=${label}`, '--format', '{{.Name}}')).split('\n').filter(ours);
    for (const network of networks) await docker('network', 'rm', network).catch(() => {});
    const volumes = (await docker('volume', 'ls', '--filter', `label=${label}`, '--format', '{{.Name}}')).split('\n').filter(ours);
    if (volumes.length) await docker('volume', 'rm', '-f', ...volumes);
  }
}

/**
 * Builds the server of `rev` as package.json's build:server does, in a detached worktree at `dir`
 * that borrows the main checkout's node_modules. Resolves with the main.js to run and the commit.
 */
async function buildRevision(rev, dir) {
  const commit = await git('rev-parse', '--verify', `${rev}^{commit}`);
  await git('worktree', 'add', '--detach', dir, commit);
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  await exec('npx', ['tsc', '-p', 'tsconfig.build.json'], dir);
  fs.copyFileSync(path.join(dir, 'server/src/files/workspace-tool.cjs'), path.join(dir, 'dist/server/files/workspace-tool.cjs'));
  return { mainJs: path.join(dir, 'dist/server/main.js'), source: `${rev} (${commit.slice(0, 7)}), built in a worktree` };
}

async function removeWorktree(dir) {
  if (!fs.existsSync(dir)) return;
  // Unlinked first, so nothing that removes the worktree can reach into the shared node_modules.
  fs.rmSync(path.join(dir, 'node_modules'), { force: true });
  await git('worktree', 'remove', '--force', dir).catch((error) => console.error(`worktree removal failed: ${error.message}`));
  await git('worktree', 'prune').catch(() => {});
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(full));
    else if (/\.(ts|cjs)$/.test(entry.name) && !entry.name.endsWith('.spec.ts')) newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** The current checkout's dist, rebuilt first when missing or older than server/src. */
async function currentDist() {
  const mainJs = path.join(ROOT, 'dist/server/main.js');
  const tool = path.join(ROOT, 'dist/server/files/workspace-tool.cjs');
  const stale = !fs.existsSync(mainJs) || !fs.existsSync(tool) || newestMtime(path.join(ROOT, 'server/src')) > fs.statSync(mainJs).mtimeMs;
  if (stale) {
    console.log('  dist is missing or older than server/src: npm run build:server');
    await exec('npm', ['run', '-s', 'build:server'], ROOT);
  }
  const head = await git('rev-parse', '--short', 'HEAD');
  const modified = (await git('status', '--porcelain', '--', 'server/src')).split('\n').filter(Boolean).length;
  return { mainJs, source: `current checkout's dist (HEAD ${head}${modified ? `, ${modified} uncommitted changes under server/src` : ''})` };
}

function startSide(mainJs, side, dataDir, port) {
  return startControlPlane({
    mainJs,
    port,
    dataDir,
    env: {
      PUBLIC_URL,
      RUNTIME_IMAGE: IMAGE,
      RUNTIME_NAME_PREFIX: side.prefix,
      RUNTIME_SUBNET_POOL: side.pool,
      RUNTIME_START_TIMEOUT_SECONDS: '600',
      IDLE_STOP_MINUTES: '0',
    },
  });
}

/** The first admin and USERS - 1 users; resolves with their sessions (cookie and CSRF token). */
async function signUpAll(base) {
  const setup = await request(`${base}/api/setup`, { method: 'POST', body: { username: 'admin', password: 'bench-admin-password' } });
  if (setup.status !== 201) throw new Error(`${base} setup failed: ${setup.status} ${JSON.stringify(setup.body)}`);
  const admin = { username: 'admin', headers: { cookie: cookieOf(setup), 'x-csrf-token': setup.body.csrfToken } };
  const users = [admin];
  for (let i = 1; i < USERS; i += 1) {
    const username = `user${i}`;
    const password = `${username}-bench-password`;
    const created = await request(`${base}/api/users`, { method: 'POST', headers: admin.headers, body: { username, password, role: 'user' } });
    if (created.status !== 201) throw new Error(`${base} creating ${username} failed: ${created.status} ${JSON.stringify(created.body)}`);
    // Only the users whose runtime is started need a session of their own.
    if (i < RUNNING) {
      const login = await request(`${base}/api/auth/login`, { method: 'POST', body: { username, password } });
      if (login.status !== 200) throw new Error(`${base} ${username} could not sign in: ${login.status}`);
      users.push({ username, headers: { cookie: cookieOf(login), 'x-csrf-token': login.body.csrfToken } });
    }
  }
  return users;
}

async function startRuntime(base, user) {
  const began = performance.now();
  const response = await request(`${base}/api/runtime/start`, { method: 'POST', headers: user.headers });
  if (response.status !== 200 || response.body.runtime?.state !== 'running') {
    throw new Error(`${base} start of ${user.username}: ${response.status} ${JSON.stringify(response.body)}`);
  }
  return Math.round(performance.now() - began);
}

/** CPU ticks (user + system) a process has used, from /proc; null once it is gone. */
function processTicks(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

function hostTicks() {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { idle: fields[3] + fields[4], total: fields.reduce((sum, value) => sum + value, 0) };
}

/** dockerd's pid, when this host runs it where /proc shows it. */
function dockerdPid() {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'dockerd') return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

const TICKS_PER_S = 100;

const percentile = (sorted, p) => (sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]) : null);

/**
 * Splits every answer's latency by connection: each connection's first answer (its request waited
 * while the server took the new connection on) and all later ones (the steady state).
 */
function latencySplit() {
  const first = [];
  const later = [];
  return {
    setupClient(client) {
      let answered = false;
      client.on('response', (_status, _bytes, ms) => {
        (answered ? later : first).push(ms);
        answered = true;
      });
    },
    summary() {
      first.sort((a, b) => a - b);
      later.sort((a, b) => a - b);
      return {
        connectionsAnswered: first.length,
        firstAnswer: { p50: percentile(first, 0.5), max: percentile(first, 1) },
        later: { p50: percentile(later, 0.5), p99: percentile(later, 0.99), max: percentile(later, 1) },
      };
    },
  };
}

async function measure(url, cookie, pids) {
  // A short warm-up lets the JIT settle, as it would in a long-running server.
  await load({ url, headers: { cookie }, connections: 20, duration: WARMUP_S, timeout: TIMEOUT_S });
  const ticksBefore = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processTicks(pid)]));
  const hostBefore = hostTicks();
  const began = performance.now();
  const split = latencySplit();
  const result = await load({ url, headers: { cookie }, connections: CONNECTIONS, duration: DURATION_S, timeout: TIMEOUT_S, setupClient: split.setupClient });
  const seconds = (performance.now() - began) / 1000;
  const hostAfter = hostTicks();
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  // Percent of one core over the load, per process; the host's as percent of all its cores.
  const cpu = {};
  for (const [name, pid] of Object.entries(pids)) {
    const after = processTicks(pid);
    if (after !== null && ticksBefore[name] !== null) cpu[name] = Math.round(((after - ticksBefore[name]) / TICKS_PER_S / seconds) * 100);
  }
  cpu.hostBusyOfAllCores = Math.round((1 - (hostAfter.idle - hostBefore.idle) / Math.max(1, hostAfter.total - hostBefore.total)) * 100);
  return {
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    rps: Math.round(result.requests.average),
    requests: result.requests.total,
    byConnection: split.summary(),
    cpuPercent: cpu,
  };
}

export async function run() {
  await docker('image', 'inspect', '--format', '{{.Id}}', IMAGE).catch(() => {
    throw new Error(`${IMAGE} is missing: run ./scripts/build-images.sh runtime`);
  });
  const work = tempDir();
  const planes = {};
  const worktrees = [];
  try {
    await removeBenchResources();
    console.log(`  building the server of ${BASELINE_REV} in a worktree`);
    worktrees.push(path.join(work, 'before'));
    const before = await buildRevision(BASELINE_REV, worktrees.at(-1));
    let after;
    if (AFTER_REV) {
      console.log(`  building the server of ${AFTER_REV} in a worktree`);
      worktrees.push(path.join(work, 'after'));
      after = await buildRevision(AFTER_REV, worktrees.at(-1));
    } else {
      after = await currentDist();
    }
    const builds = { before, after };

    for (const name of ['before', 'after']) {
      const dataDir = path.join(work, `data-${name}`);
      fs.mkdirSync(dataDir);
      const port = await freePort();
      planes[name] = { base: `http://127.0.0.1:${port}`, server: startSide(builds[name].mainJs, SIDES[name], dataDir, port) };
    }
    for (const name of ['before', 'after']) {
      const plane = planes[name];
      await waitFor(`${plane.base}/api/ready`);
      plane.users = await signUpAll(plane.base);
    }
    // One start at a time, both control planes, so no start slows another.
    for (const name of ['before', 'after']) {
      const plane = planes[name];
      plane.startMs = [];
      for (const user of plane.users.slice(0, RUNNING)) {
        plane.startMs.push(await startRuntime(plane.base, user));
        console.log(`  ${name}: ${user.username}'s runtime running after ${plane.startMs.at(-1)} ms`);
      }
      const own = await request(`${plane.base}/api/runtime`, { headers: { cookie: plane.users[0].headers.cookie } });
      if (own.status !== 200 || own.body.runtime?.state !== 'running') throw new Error(`${name}: GET /api/runtime ${own.status} ${JSON.stringify(own.body)}`);
    }
    // The gateways keep working for a while after their first healthy answer.
    const quietMs = await waitQuiet({ maxMs: 30_000 });

    const dockerd = dockerdPid();
    const pidsOf = (name) => ({ controlPlane: planes[name].server.child.pid, ...(dockerd && { dockerd }), loadGenerator: process.pid });
    const routes = { status: '/api/runtime', adminList: '/api/admin/runtimes' };
    const results = { before: { status: [], adminList: [] }, after: { status: [], adminList: [], me: [] } };
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const [key, route] of Object.entries(routes)) {
        for (const name of ['before', 'after']) {
          const plane = planes[name];
          const figures = await measure(`${plane.base}${route}`, plane.users[0].headers.cookie, pidsOf(name));
          results[name][key].push(figures);
          console.log(`  ${name} GET ${route}: p50 ${figures.p50} ms, p99 ${figures.p99} ms, ${figures.rps} req/s; CPU ${JSON.stringify(figures.cpuPercent)}`);
        }
      }
      results.after.me.push(await measure(`${planes.after.base}/api/me`, planes.after.users[0].headers.cookie, pidsOf('after')));
    }

    const list = await request(`${planes.after.base}/api/admin/runtimes`, { headers: { cookie: planes.after.users[0].headers.cookie } });
    const states = list.body.runtimes.map((runtime) => runtime.state).sort();

    const compare = (key) =>
      results.before[key].map((before, round) => {
        const after = results.after[key][round];
        return { p50Ratio: ratio(before.p50, after.p50), p99Ratio: ratio(before.p99, after.p99), throughputRatio: ratio(after.rps, before.rps) };
      });
    const result = {
      ...(await resultHeader('runtime state reads under load: GET /api/runtime and GET /api/admin/runtimes, before and after', IMAGE)),
      connections: CONNECTIONS,
      durationSeconds: DURATION_S,
      rounds: ROUNDS,
      users: USERS,
      running: RUNNING,
      adminListStates: states,
      waitedForQuietMs: quietMs,
      before: { source: before.source, startMs: planes.before.startMs, ...results.before },
      after: { source: after.source, startMs: planes.after.startMs, ...results.after },
      status: compare('status'),
      adminList: compare('adminList'),
    };
    const cpuText = (cpu) => Object.entries(cpu).map(([name, value]) => `${name} ${value}%`).join(', ');
    const line = (label, r) => {
      const c = r.byConnection;
      return [
        `${label.padEnd(34)} p50 ${String(r.p50).padStart(5)} ms   p99 ${String(r.p99).padStart(5)} ms   max ${String(r.max).padStart(5)} ms   ${String(r.rps).padStart(6)} req/s   CPU: ${cpuText(r.cpuPercent)}`,
        `${''.padEnd(34)} each connection's first answer: median ${c.firstAnswer.p50} ms, max ${c.firstAnswer.max} ms (${c.connectionsAnswered} of ${CONNECTIONS} answered); later answers: p50 ${c.later.p50} ms, p99 ${c.later.p99} ms, max ${c.later.max} ms`,
      ].join('\n  ');
    };
    const section = (key, route) =>
      results.before[key]
        .map((before, round) => {
          const c = result[key][round];
          return [
            line(`${route}, before${ROUNDS > 1 ? ` #${round + 1}` : ''}`, before),
            line(`${route}, after${ROUNDS > 1 ? ` #${round + 1}` : ''}`, results.after[key][round]),
            `  before/after: p50 ${c.p50Ratio}×, p99 ${c.p99Ratio}×; throughput after/before ${c.throughputRatio}×`,
          ].join('\n  ');
        })
        .join('\n  ');
    console.log(`
Runtime state reads (${result.machine}, Docker ${result.docker}, ${IMAGE}; ${CONNECTIONS} connections, ${DURATION_S} s; CPU in % of one core, host in % of all cores)
  before: ${before.source}
  after:  ${after.source}
  ${section('status', 'GET /api/runtime')}
  ${section('adminList', 'GET /api/admin/runtimes')}
    (${USERS} users: ${states.join(', ')})
  ${results.after.me.map((me, round) => line(`GET /api/me, after (floor)${ROUNDS > 1 ? ` #${round + 1}` : ''}`, me)).join('\n  ')}
  runtime starts: before ${planes.before.startMs.join(', ')} ms; after ${planes.after.startMs.join(', ')} ms`);
    return result;
  } finally {
    await Promise.all(Object.values(planes).map((plane) => plane.server.stop()));
    await removeBenchResources().catch((error) => console.error(`cleanup failed: ${error.message}`));
    for (const dir of worktrees) await removeWorktree(dir);
    fs.rmSync(work, { recursive: true, force: true });
  }
}
