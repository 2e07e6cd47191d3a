// Issue #10 benchmark: what the control plane's model endpoint (POST /v1/chat/completions, a runtime's
// token) adds over calling LiteLLM directly (its master key), both in front of the same LiteLLM
// container (crewclaw/litellm:dev, run hardened as compose runs it) and the same stand-in provider
// (server/test/support/openai-stand-in.ts, in a process of its own on Docker's bridge gateway, which
// the container reaches as host.docker.internal). Side by side in one run:
//   1. a whole (non-streamed) answer, one connection per target, calls interleaved across targets:
//      p50/p99 of ours, LiteLLM direct, a bare hop (node:http passing bytes through to LiteLLM: what any
//      process in the way costs on this machine) and the stand-in direct; added = ours - direct (goal
//      < 2 ms at p50), and ours - bare hop (what our endpoint's own work costs);
//   2. a streamed answer (5 chunks 5 ms apart): time to the first byte of the body, the same way
//      (goal < 5 ms added at p50);
//   3. 50 streams at once for BENCH_MODELS_LOAD_S (15) seconds, BENCH_MODELS_LOAD_ROUNDS (2) rounds each,
//      direct and ours in turn: completed streams and chunks per second, ours / direct (goal >= 0.9),
//      and the control plane's RSS (VmRSS, sampled every 50 ms) before, at its peak, and after.
// To explain the figures: the control plane's CPU per call (the scheduler's count, its event loop and all
// its threads), LiteLLM's (its container's cgroup), and how busy the whole host was in each phase.
// BENCH_MODELS_CALLS (1000) and BENCH_MODELS_STREAM_CALLS (500) set the calls per target in 1 and 2.
// The control plane is the built one (`node dist/server/main.js`, as its image runs it), with a fresh
// SQLite file and unlimited model requests. The provider and model are added through the admin API, so
// LiteLLM runs with the configuration file the control plane wrote (a copy made readable for its user).
// The runtime's token is a row put straight into SQLite (no runtime container is needed: the endpoint
// only looks the token's hash up). Everything on Docker is named ccbench-models-* and removed at the end.
// Both clients send the same body (stream_options.include_usage on streams, as the control plane always
// asks LiteLLM), so LiteLLM does the same work on both paths. Both reach LiteLLM at its container's address
// on Docker's bridge, as compose's control plane reaches it on the models network
// (BENCH_MODELS_LITELLM_VIA=published: its loopback port instead, through docker-proxy, as runs before
// 2026-12-01 did). BENCH_CONTROL_PLANE_NODE_ARGS='["--cpu-prof"]' profiles the control plane (bench/lib.mjs).
// Run: `npm run build && flock /tmp/crewclaw-docker.lock node bench/run.mjs models` (4 to 5 minutes).
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { ROOT, cookieOf, docker, freePort, machine, request, resultHeader, rssMiB, sleep, withPeakRss, startControlPlane, tempDir, waitFor } from './lib.mjs';

const PREFIX = 'ccbench-models';
const LITELLM = `${PREFIX}-litellm`;
const IMAGE = process.env.CREWCLAW_TEST_LITELLM_IMAGE ?? 'crewclaw/litellm:dev';
const MASTER_KEY = `sk-${PREFIX}-master-${crypto.randomBytes(12).toString('hex')}`;
const ORIGIN = 'http://localhost:8080';
const MODEL = 'bench-model';
const CALLS = Number(process.env.BENCH_MODELS_CALLS ?? 1000);
const STREAM_CALLS = Number(process.env.BENCH_MODELS_STREAM_CALLS ?? 500);
const WARMUP = 100;
const STREAMS = 50;
const LOAD_S = Number(process.env.BENCH_MODELS_LOAD_S ?? 15);
const LOAD_ROUNDS = Number(process.env.BENCH_MODELS_LOAD_ROUNDS ?? 2);
const SETTLE_MS = 5000;
/** How both paths reach LiteLLM: `network` (its container's address, as compose's control plane does) or `published` (loopback, through docker-proxy). */
const LITELLM_VIA = process.env.BENCH_MODELS_LITELLM_VIA ?? 'network';
if (!['network', 'published'].includes(LITELLM_VIA)) throw new Error('BENCH_MODELS_LITELLM_VIA is network or published');

const ms = (value) => Number(value.toFixed(3));
const ratio = (a, b) => Number((a / b).toFixed(3));
const MESSAGES = [{ role: 'user', content: 'Say hello.' }];

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
const summary = (values) => ({ p50: ms(percentile(values, 50)), p90: ms(percentile(values, 90)), p99: ms(percentile(values, 99)), max: ms(Math.max(...values)), n: values.length });

/** A Node script in a process of its own (not on the client's event loop) that prints its port; resolves with it. */
function startScript(label, script) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', resolve);
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    child.stdout.once('data', (chunk) => resolve({ port: Number(String(chunk).trim()), pid: child.pid, stop }));
    child.once('exit', (code) => reject(new Error(`${label} exited ${code}: ${stderr}`)));
  });
}

/** The stand-in provider. */
function startStandIn(host) {
  return startScript(
    'the stand-in',
    `import { tsImport } from 'tsx/esm/api';
    const { startOpenAiStandIn } = await tsImport(${JSON.stringify(pathToFileURL(path.join(ROOT, 'server/test/support/openai-stand-in.ts')).href)}, import.meta.url);
    const standIn = await startOpenAiStandIn(${JSON.stringify(host)});
    // It records every request; a benchmark sends tens of thousands.
    setInterval(() => standIn.requests.splice(0), 1000);
    console.log(standIn.port);
    process.on('SIGTERM', () => standIn.close().then(() => process.exit(0)));`,
  );
}

/**
 * The floor of any process put between a client and LiteLLM on this machine: node:http passing each
 * request and answer through unread, on a keep-alive agent. What it adds is the extra hop itself (two
 * more loopback writes, and a process woken twice a call), which our endpoint pays too.
 */
function startBareHop(upstreamUrl) {
  return startScript(
    'the bare hop',
    `import http from 'node:http';
    const upstream = new URL(${JSON.stringify(upstreamUrl)});
    const agent = new http.Agent({ keepAlive: true });
    const server = http.createServer((req, res) => {
      const out = http.request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers, agent }, (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      });
      out.on('error', () => res.destroy());
      req.pipe(out);
    });
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));
    process.on('SIGTERM', () => process.exit(0));`,
  );
}

/**
 * One chat call on `agent`; resolves with its timings from the request's start: first body byte
 * (ttfb), end (total), and for a stream its data events and whether it ended with [DONE].
 */
function call(target, agent, { stream }) {
  const payload = JSON.stringify({ model: target.model, messages: MESSAGES, ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}) });
  return new Promise((resolve, reject) => {
    const began = performance.now();
    const req = http.request(
      target.url,
      { method: 'POST', agent, headers: { authorization: `Bearer ${target.key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        let ttfb = null;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          ttfb ??= performance.now() - began;
          text += chunk;
        });
        res.on('end', () => {
          const total = performance.now() - began;
          const events = stream ? text.split('\n\n').filter((block) => block.startsWith('data: ')) : [];
          const done = stream ? events.at(-1) === 'data: [DONE]' && !text.includes('"error"') : res.statusCode === 200 && text.includes('"choices"');
          resolve({ status: res.statusCode, ttfb, total, events: events.length, done, text: done ? '' : text.slice(0, 300) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Calls each target in turn, `count` rounds (order rotated each round so no target always goes first). */
async function interleaved(targets, agents, count, options) {
  const names = Object.keys(targets);
  const timings = Object.fromEntries(names.map((name) => [name, []]));
  const failures = Object.fromEntries(names.map((name) => [name, 0]));
  for (let index = 0; index < count; index += 1) {
    for (let turn = 0; turn < names.length; turn += 1) {
      const name = names[(index + turn) % names.length];
      const result = await call(targets[name], agents[name], options);
      if (result.status !== 200 || !result.done) {
        failures[name] += 1;
        if (failures[name] === 1) console.error(`  ${name}: ${result.status} ${result.text}`);
        continue;
      }
      timings[name].push(result);
    }
  }
  return { timings, failures };
}

/**
 * CPU time (ms) a process ran so far: its main thread (the event loop) and all its threads (GC, libuv's
 * pool), from the scheduler's own count (/proc/PID/task/TID/schedstat, ns), not the 10 ms ticks of
 * /proc/PID/stat, which are too coarse for a few ms a call.
 */
function cpuOf(pid) {
  const ranNs = (tid) => Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  let all = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      all += ranNs(tid);
    } catch {
      // a thread that just ended
    }
  }
  return { main: ranNs(pid) / 1e6, all: all / 1e6 };
}

/** CPU time (ms) a container used so far (its cgroup: v1 cpuacct, or v2 cpu.stat). */
async function containerCpuMs(container) {
  const id = await docker('inspect', '-f', '{{.Id}}', container);
  for (const file of [`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, `/sys/fs/cgroup/cpu,cpuacct/docker/${id}/cpuacct.usage`]) {
    if (fs.existsSync(file)) return Number(fs.readFileSync(file, 'utf8')) / 1e6;
  }
  const v2 = `/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`;
  if (fs.existsSync(v2)) return Number(/usage_usec (\d+)/.exec(fs.readFileSync(v2, 'utf8'))[1]) / 1000;
  return NaN;
}

/** The whole host's CPU counters (/proc/stat), to say how busy it was while a phase ran. */
function hostCpu() {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { idle: fields[3] + fields[4], total: fields.reduce((sum, value) => sum + value, 0) };
}
const busySince = (before) => {
  const now = hostCpu();
  return Number((1 - (now.idle - before.idle) / Math.max(1, now.total - before.total)).toFixed(2));
};

/** `STREAMS` clients streaming in a loop against one target for LOAD_S seconds. */
async function streamLoad(target) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: STREAMS });
  let completed = 0;
  let chunks = 0;
  let failed = 0;
  let firstFailure = null;
  const ttfbs = [];
  const began = performance.now();
  const deadline = began + LOAD_S * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      try {
        const result = await call(target, agent, { stream: true });
        if (result.status === 200 && result.done) {
          completed += 1;
          chunks += result.events;
          ttfbs.push(result.ttfb);
        } else {
          failed += 1;
          firstFailure ??= `${result.status} ${result.text}`;
        }
      } catch (error) {
        failed += 1;
        firstFailure ??= error.message;
      }
    }
  };
  await Promise.all(Array.from({ length: STREAMS }, worker));
  const seconds = (performance.now() - began) / 1000;
  agent.destroy();
  return { seconds: ms(seconds), completed, failed, firstFailure, streamsPerSecond: Number((completed / seconds).toFixed(1)), chunksPerSecond: Math.round(chunks / seconds), ttfb: summary(ttfbs) };
}

async function removeOurs() {
  await docker('rm', '-f', LITELLM).catch(() => undefined);
}

export async function run() {
  if (!fs.existsSync(path.join(ROOT, 'dist/server/main.js'))) throw new Error('Run `npm run build` first.');
  const began = Date.now();
  const header = await resultHeader('models', IMAGE);
  // The tree's revision now, and when dist/ was built (the lead may change the tree in between).
  const revision = execFileSync('git', ['describe', '--always', '--dirty'], { cwd: ROOT, encoding: 'utf8' }).trim();
  const builtAt = fs.statSync(path.join(ROOT, 'dist/server/main.js')).mtime.toISOString();
  console.log(`models bench on ${machine()} (${revision}, dist built ${builtAt}); load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  await removeOurs();
  const gateway = await docker('network', 'inspect', 'bridge', '-f', '{{(index .IPAM.Config 0).Gateway}}');
  const dataDir = tempDir();
  const mountDir = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}-`));
  const standIn = await startStandIn(gateway).catch((error) => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(mountDir, { recursive: true, force: true });
    throw error;
  });
  const port = await freePort();
  const litellmPort = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const controlPlane = (litellmUrl) =>
    startControlPlane({
      port,
      dataDir,
      env: {
        PUBLIC_URL: ORIGIN,
        LITELLM_URL: litellmUrl,
        LITELLM_MASTER_KEY: MASTER_KEY,
        LITELLM_CONFIG_FILE: path.join(dataDir, 'litellm', 'config.yaml'),
        MODEL_REQUESTS_PER_MINUTE: '0',
        MODEL_CONCURRENT_REQUESTS: '0',
        RUNTIME_NAME_PREFIX: PREFIX,
      },
    });
  let server = controlPlane(`http://127.0.0.1:${litellmPort}`);
  let bareHop = null;
  try {
    await waitFor(`${base}/api/ready`);
    const setup = await request(`${base}/api/setup`, { method: 'POST', headers: { origin: ORIGIN }, body: { username: 'admin', password: 'bench-password' } });
    if (setup.status !== 201) throw new Error(`setup answered ${setup.status}`);
    const admin = { cookie: cookieOf(setup), 'x-csrf-token': setup.body.csrfToken, origin: ORIGIN };
    const provider = await request(`${base}/api/admin/model-providers`, {
      method: 'POST',
      headers: admin,
      body: { name: 'Stand-in', kind: 'openai_compatible', baseUrl: `http://host.docker.internal:${standIn.port}/v1` },
    });
    if (provider.status !== 201) throw new Error(`adding the provider answered ${provider.status}: ${JSON.stringify(provider.body)}`);
    const model = await request(`${base}/api/admin/models`, { method: 'POST', headers: admin, body: { name: MODEL, providerId: provider.body.provider.id, upstreamModel: 'stand-in' } });
    if (model.status !== 201) throw new Error(`adding the model answered ${model.status}: ${JSON.stringify(model.body)}`);

    // The runtime's token: only its hash is kept, and the endpoint only looks the hash up.
    const token = `ccrt_${crypto.randomBytes(32).toString('base64url')}`;
    const db = new Database(path.join(dataDir, 'crewclaw.db'));
    try {
      db.prepare("INSERT INTO runtimes (user_id, state, token_hash, updated_at) VALUES (?, 'stopped', ?, ?)").run(setup.body.user.id, crypto.createHash('sha256').update(token).digest('hex'), Date.now());
    } finally {
      db.close();
    }

    // LiteLLM with the file the control plane wrote, as compose mounts it (read-only, for user 65533).
    const written = fs.readFileSync(path.join(dataDir, 'litellm', 'config.yaml'), 'utf8');
    fs.writeFileSync(path.join(mountDir, 'config.yaml'), written, { mode: 0o644 });
    fs.chmodSync(mountDir, 0o755);
    await docker(
      'run', '-d', '--name', LITELLM, '--label', `org.crewclaw.platform=${PREFIX}`, '--label', 'org.crewclaw.bench=1',
      '--user', '65533:65533', '--read-only', '--tmpfs', '/tmp', '--tmpfs', '/home/litellm', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges:true',
      '--add-host', 'host.docker.internal:host-gateway', '-p', `127.0.0.1:${litellmPort}:4000`,
      '-v', `${mountDir}:/etc/litellm/crewclaw:ro`, IMAGE,
      '--config', '/etc/litellm/crewclaw/config.yaml', '--host', '0.0.0.0', '--port', '4000', '--num_workers', '1',
    );
    const upSince = Date.now();
    await waitFor(`http://127.0.0.1:${litellmPort}/health/liveliness`, 180_000);
    console.log(`  LiteLLM up in ${((Date.now() - upSince) / 1000).toFixed(1)} s`);
    // LiteLLM's address for both paths. As compose runs it, the control plane reaches LiteLLM over a Docker
    // network; its published loopback port goes through docker-proxy, a process more in the way.
    let litellmUrl = `http://127.0.0.1:${litellmPort}`;
    if (LITELLM_VIA === 'network') {
      const address = await docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', LITELLM);
      if (!address) throw new Error(`${LITELLM} has no address on Docker's bridge`);
      litellmUrl = `http://${address}:4000`;
      // Its address is known only now: the control plane again, on the same data, pointed at it.
      await server.stop();
      server = controlPlane(litellmUrl);
      await waitFor(`${base}/api/ready`);
    }
    console.log(`  LiteLLM reached at ${litellmUrl} (BENCH_MODELS_LITELLM_VIA=${LITELLM_VIA})`);
    bareHop = await startBareHop(litellmUrl);

    const targets = {
      standIn: { url: `http://${gateway}:${standIn.port}/v1/chat/completions`, key: 'no-key', model: 'stand-in' },
      direct: { url: `${litellmUrl}/v1/chat/completions`, key: MASTER_KEY, model: MODEL },
      bareHop: { url: `http://127.0.0.1:${bareHop.port}/v1/chat/completions`, key: MASTER_KEY, model: MODEL },
      ours: { url: `${base}/v1/chat/completions`, key: token, model: MODEL },
    };
    const agents = () => Object.fromEntries(Object.keys(targets).map((name) => [name, new http.Agent({ keepAlive: true, maxSockets: 1 })]));

    // 1. Whole answers.
    const pid = server.child.pid;
    // The control plane's CPU while it is idle (its timers), to tell its per-call CPU from background work.
    const rssAtStartMiB = Number(rssMiB(pid).toFixed(1));
    let cpuBefore = cpuOf(pid);
    await sleep(SETTLE_MS);
    const idleCpuPercent = Number((((cpuOf(pid).all - cpuBefore.all) / SETTLE_MS) * 100).toFixed(2));
    const wholeAgents = agents();
    await interleaved(targets, wholeAgents, WARMUP, { stream: false });
    let hostBefore = hostCpu();
    cpuBefore = cpuOf(pid);
    let litellmCpuBefore = await containerCpuMs(LITELLM);
    const whole = await interleaved(targets, wholeAgents, CALLS, { stream: false });
    const wholeCpu = cpuOf(pid);
    // LiteLLM answers direct, the bare hop's and our calls.
    const wholeLitellmCpu = ms(((await containerCpuMs(LITELLM)) - litellmCpuBefore) / (3 * CALLS));
    const wholeHostBusy = busySince(hostBefore);
    // Per call of ours (the other targets' calls cost the control plane nothing).
    const perCall = (after, before, count) => ({ mainThread: ms((after.main - before.main) / count), allThreads: ms((after.all - before.all) / count) });
    Object.values(wholeAgents).forEach((agent) => agent.destroy());
    const wholeOf = (name) => summary(whole.timings[name].map((t) => t.total));
    // The same round's calls side by side: the median of ours minus direct, less sensitive to drift.
    const paired = (timings, field, over = 'direct', path = 'ours') => {
      const count = Math.min(timings[path].length, timings[over].length);
      return ms(percentile(Array.from({ length: count }, (_, i) => timings[path][i][field] - timings[over][i][field]), 50));
    };
    // The control plane's CPU per call (its own timers included, which are next to nothing).
    const latency = { standIn: wholeOf('standIn'), direct: wholeOf('direct'), bareHop: wholeOf('bareHop'), ours: wholeOf('ours'), failures: whole.failures, controlPlaneCpuMsPerCall: perCall(wholeCpu, cpuBefore, CALLS), controlPlaneIdleCpuPercent: idleCpuPercent, litellmCpuMsPerCall: wholeLitellmCpu, hostBusy: wholeHostBusy };
    latency.added = { p50: ms(latency.ours.p50 - latency.direct.p50), p99: ms(latency.ours.p99 - latency.direct.p99), pairedMedian: paired(whole.timings, 'total') };
    latency.addedByBareHop = { p50: ms(latency.bareHop.p50 - latency.direct.p50), p99: ms(latency.bareHop.p99 - latency.direct.p99), pairedMedian: paired(whole.timings, 'total', 'direct', 'bareHop') };
    latency.oursOverBareHop = { p50: ms(latency.ours.p50 - latency.bareHop.p50), pairedMedian: paired(whole.timings, 'total', 'bareHop') };
    latency.litellmOverStandIn = { p50: ms(latency.direct.p50 - latency.standIn.p50), p99: ms(latency.direct.p99 - latency.standIn.p99) };
    console.log(`  whole answer (${CALLS} each)  ours p50 ${latency.ours.p50} p99 ${latency.ours.p99} ms | LiteLLM direct p50 ${latency.direct.p50} p99 ${latency.direct.p99} ms | bare hop p50 ${latency.bareHop.p50} p99 ${latency.bareHop.p99} ms | stand-in p50 ${latency.standIn.p50} p99 ${latency.standIn.p99} ms`);
    console.log(`    added by a bare hop: p50 ${latency.addedByBareHop.p50} ms, p99 ${latency.addedByBareHop.p99} ms (paired ${latency.addedByBareHop.pairedMedian} ms); ours over the bare hop: p50 ${latency.oursOverBareHop.p50} ms (paired ${latency.oursOverBareHop.pairedMedian} ms)`);
    console.log(`    added by ours: p50 ${latency.added.p50} ms, p99 ${latency.added.p99} ms (paired median ${latency.added.pairedMedian} ms; control plane CPU ${latency.controlPlaneCpuMsPerCall.mainThread} ms a call on its event loop, ${latency.controlPlaneCpuMsPerCall.allThreads} ms in all, ${latency.controlPlaneIdleCpuPercent} % of a core idle; LiteLLM CPU ${latency.litellmCpuMsPerCall} ms a call)   goal < 2 ms at p50: ${latency.added.p50 < 2 ? 'met' : 'MISSED'}`);
    console.log(`    LiteLLM over the stand-in: p50 ${latency.litellmOverStandIn.p50} ms, p99 ${latency.litellmOverStandIn.p99} ms; host busy ${latency.hostBusy}`);

    // 2. Streams: first byte of the body, and the whole stream.
    const streamAgents = agents();
    await interleaved(targets, streamAgents, WARMUP, { stream: true });
    hostBefore = hostCpu();
    cpuBefore = cpuOf(pid);
    litellmCpuBefore = await containerCpuMs(LITELLM);
    const streamed = await interleaved(targets, streamAgents, STREAM_CALLS, { stream: true });
    const streamCpu = cpuOf(pid);
    const streamLitellmCpu = ms(((await containerCpuMs(LITELLM)) - litellmCpuBefore) / (3 * STREAM_CALLS));
    const streamHostBusy = busySince(hostBefore);
    Object.values(streamAgents).forEach((agent) => agent.destroy());
    const ttfbOf = (name) => summary(streamed.timings[name].map((t) => t.ttfb));
    const streamTotalOf = (name) => summary(streamed.timings[name].map((t) => t.total));
    const streaming = {
      ttfb: { standIn: ttfbOf('standIn'), direct: ttfbOf('direct'), bareHop: ttfbOf('bareHop'), ours: ttfbOf('ours') },
      total: { standIn: streamTotalOf('standIn'), direct: streamTotalOf('direct'), bareHop: streamTotalOf('bareHop'), ours: streamTotalOf('ours') },
      failures: streamed.failures,
      controlPlaneCpuMsPerCall: perCall(streamCpu, cpuBefore, STREAM_CALLS),
      litellmCpuMsPerCall: streamLitellmCpu,
      hostBusy: streamHostBusy,
    };
    streaming.added = {
      ttfbP50: ms(streaming.ttfb.ours.p50 - streaming.ttfb.direct.p50),
      ttfbP99: ms(streaming.ttfb.ours.p99 - streaming.ttfb.direct.p99),
      ttfbPairedMedian: paired(streamed.timings, 'ttfb'),
      ttfbByBareHopP50: ms(streaming.ttfb.bareHop.p50 - streaming.ttfb.direct.p50),
      totalP50: ms(streaming.total.ours.p50 - streaming.total.direct.p50),
    };
    streaming.litellmOverStandIn = { ttfbP50: ms(streaming.ttfb.direct.p50 - streaming.ttfb.standIn.p50), ttfbP99: ms(streaming.ttfb.direct.p99 - streaming.ttfb.standIn.p99) };
    console.log(`  stream TTFB (${STREAM_CALLS} each)  ours p50 ${streaming.ttfb.ours.p50} p99 ${streaming.ttfb.ours.p99} ms | LiteLLM direct p50 ${streaming.ttfb.direct.p50} p99 ${streaming.ttfb.direct.p99} ms | bare hop p50 ${streaming.ttfb.bareHop.p50} ms (+${streaming.added.ttfbByBareHopP50}) | stand-in p50 ${streaming.ttfb.standIn.p50} ms`);
    console.log(`    added by ours: p50 ${streaming.added.ttfbP50} ms, p99 ${streaming.added.ttfbP99} ms (paired median ${streaming.added.ttfbPairedMedian} ms; control plane CPU ${streaming.controlPlaneCpuMsPerCall.mainThread} / ${streaming.controlPlaneCpuMsPerCall.allThreads} ms a stream, LiteLLM ${streaming.litellmCpuMsPerCall} ms)   goal < 5 ms at p50: ${streaming.added.ttfbP50 < 5 ? 'met' : 'MISSED'}`);
    console.log(`    whole stream p50 ours ${streaming.total.ours.p50} / direct ${streaming.total.direct.p50} / stand-in ${streaming.total.standIn.p50} ms; host busy ${streaming.hostBusy}`);

    // 3. Fifty streams at once.
    await sleep(SETTLE_MS);
    const rssBefore = Number(rssMiB(pid).toFixed(1));
    const rounds = { direct: [], ours: [] };
    const memory = { atStartMiB: rssAtStartMiB, beforeMiB: rssBefore, peaks: [], afterEachMiB: [] };
    for (let round = 0; round < LOAD_ROUNDS; round += 1) {
      hostBefore = hostCpu();
      litellmCpuBefore = await containerCpuMs(LITELLM);
      const direct = await streamLoad(targets.direct);
      direct.hostBusy = busySince(hostBefore);
      direct.litellmCpuMsPerStream = ms(((await containerCpuMs(LITELLM)) - litellmCpuBefore) / Math.max(1, direct.completed));
      rounds.direct.push(direct);
      hostBefore = hostCpu();
      litellmCpuBefore = await containerCpuMs(LITELLM);
      const loadCpuBefore = cpuOf(pid).all;
      const { result, peakMiB } = await withPeakRss(pid, () => streamLoad(targets.ours));
      result.hostBusy = busySince(hostBefore);
      result.litellmCpuMsPerStream = ms(((await containerCpuMs(LITELLM)) - litellmCpuBefore) / Math.max(1, result.completed));
      result.controlPlaneCpuSeconds = Number(((cpuOf(pid).all - loadCpuBefore) / 1000).toFixed(2));
      result.controlPlaneCpuMsPerStream = Number(((result.controlPlaneCpuSeconds * 1000) / Math.max(1, result.completed)).toFixed(2));
      rounds.ours.push(result);
      memory.peaks.push(peakMiB);
      await sleep(SETTLE_MS);
      memory.afterEachMiB.push(Number(rssMiB(pid).toFixed(1)));
      console.log(`  ${STREAMS} streams, round ${round + 1}: direct ${rounds.direct[round].streamsPerSecond}/s (${rounds.direct[round].chunksPerSecond} chunks/s, ${rounds.direct[round].failed} failed, LiteLLM CPU ${direct.litellmCpuMsPerStream} ms each, host busy ${direct.hostBusy}) | ours ${result.streamsPerSecond}/s (${result.chunksPerSecond} chunks/s, ${result.failed} failed, control plane CPU ${result.controlPlaneCpuMsPerStream} ms each, LiteLLM ${result.litellmCpuMsPerStream} ms, host busy ${result.hostBusy}) | RSS peak ${peakMiB} MiB, ${SETTLE_MS / 1000} s after ${memory.afterEachMiB.at(-1)} MiB`);
      if (result.firstFailure) console.log(`    ours failed first with: ${result.firstFailure}`);
      if (rounds.direct[round].firstFailure) console.log(`    direct failed first with: ${rounds.direct[round].firstFailure}`);
    }
    const total = (side, field) => side.reduce((sum, r) => sum + r[field], 0);
    const rate = (side, field) => total(side, field) / total(side, 'seconds');
    const concurrent = {
      streams: STREAMS,
      seconds: LOAD_S,
      rounds,
      direct: { streamsPerSecond: Number(rate(rounds.direct, 'completed').toFixed(1)), failed: total(rounds.direct, 'failed') },
      ours: { streamsPerSecond: Number(rate(rounds.ours, 'completed').toFixed(1)), failed: total(rounds.ours, 'failed') },
      memory: { ...memory, peakMiB: Math.max(...memory.peaks) },
    };
    concurrent.ratio = ratio(concurrent.ours.streamsPerSecond, concurrent.direct.streamsPerSecond);
    concurrent.chunkRatio = ratio(
      total(rounds.ours, 'chunksPerSecond') / rounds.ours.length,
      total(rounds.direct, 'chunksPerSecond') / rounds.direct.length,
    );
    console.log(`  ${STREAMS} streams: ours/direct ${concurrent.ratio} (streams), ${concurrent.chunkRatio} (chunks)   goal >= 0.9: ${concurrent.ratio >= 0.9 ? 'met' : 'MISSED'}`);
    console.log(`  control plane RSS: at start ${rssAtStartMiB} MiB; before the ${STREAMS} streams ${rssBefore} MiB, peak ${concurrent.memory.peakMiB} MiB, after ${memory.afterEachMiB.join(' / ')} MiB`);

    const calls = await (async () => {
      const counts = new Database(path.join(dataDir, 'crewclaw.db'), { readonly: true });
      try {
        return counts.prepare('SELECT outcome, stream, COUNT(*) AS calls FROM model_calls GROUP BY outcome, stream').all();
      } finally {
        counts.close();
      }
    })();
    const litellmStats = await docker('stats', '--no-stream', '--format', '{{.MemUsage}} {{.CPUPerc}}', LITELLM);
    console.log(`  ${Math.round((Date.now() - began) / 1000)} s in all`);
    const builtAtEnd = fs.statSync(path.join(ROOT, 'dist/server/main.js')).mtime.toISOString();
    // The running control plane loaded its modules at start; a rebuild since then only muddles the record.
    if (builtAtEnd !== builtAt) console.log(`  note: dist/ was rebuilt during the run (${builtAtEnd}); the control plane measured is the one built ${builtAt}`);
    return {
      seconds: Math.round((Date.now() - began) / 1000),
      ...header,
      revision,
      builtAt,
      litellmVia: LITELLM_VIA,
      loadAverage: os.loadavg(),
      latency,
      streaming,
      concurrent,
      meteredCalls: calls,
      litellmStatsAtEnd: litellmStats,
      goals: {
        addedP50Under2ms: latency.added.p50 < 2,
        addedTtfbP50Under5ms: streaming.added.ttfbP50 < 5,
        concurrentRatioAtLeast09: concurrent.ratio >= 0.9,
      },
    };
  } catch (error) {
    const logs = await docker('logs', '--tail', '40', LITELLM).catch(() => '');
    if (logs) console.error(`LiteLLM's last lines:\n${logs}`);
    throw error;
  } finally {
    await server.stop();
    await standIn.stop();
    await bareHop?.stop();
    await removeOurs();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(mountDir, { recursive: true, force: true });
  }
}
