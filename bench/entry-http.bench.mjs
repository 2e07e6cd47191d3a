// Entry layer, HTTP: what Traefik and its forward-auth add to a Control UI request (issue 10).
// The stack as compose runs it (entry-stack.mjs), the admin's real OpenClaw runtime started through the
// API. The client (entry-probe.mjs) runs in a helper container in Traefik's own network namespace, so
// both paths start at the same place with the same client and the runtime sees the proxy's address:
//   traefik   GET http://<Traefik on the project network>:8081/u/admin/ with the session cookie:
//             the runtimes entrypoint, the router made from the runtime's labels, forwardAuth to the
//             control plane, the headers middleware, then the runtime;
//   direct    the same GET straight to the runtime's gateway (<.4 on the user network>:18789), with the
//             headers Traefik would have added (X-Forwarded-User/-Proto/-For/-Host/-Port, X-Real-Ip);
//   forward   GET /api/auth/forward on the control plane, as Traefik's forwardAuth asks it (the
//             browser's headers with the cookie, X-Forwarded-Method, -Uri, -Proto, -Host, -For):
//             forward-auth's own cost per request, from the same place Traefik asks it.
// Also, informative: `published`, the traefik request from the host through the published loopback port
// (Docker's userland proxy, then Traefik), as a browser on this machine goes.
// Phase 1, latency: one keep-alive connection, BENCH_HTTP_REQUESTS (1000) requests per target per round,
// BENCH_HTTP_ROUNDS (5) rounds, targets in turn within each round. Phase 2, load: 10 connections, 3000
// requests per target, 3 rounds, each target in its own probe run, with the CPU that Traefik, the control
// plane and the runtime used (their cgroups' cpuacct.usage) per request. Any other answer than 200 fails.
// Run: `flock /tmp/crewclaw-docker.lock npm run bench entry-http` (about 3 minutes).
import fs from 'node:fs';
import os from 'node:os';
import { docker, machine, resultHeader } from './lib.mjs';
import { ADMIN, CONTROL_PLANE, GATEWAY_PORT, PREFIX, PROXY, RUNTIME_IMAGE, addressOn, hostBusy, probeFromHost, probeFromProxy, startAdminRuntime, upStack } from './entry-stack.mjs';

const REQUESTS = Number(process.env.BENCH_HTTP_REQUESTS ?? 1000);
const ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 5);
const LOAD_CONNECTIONS = 10;
const LOAD_REQUESTS = 3000;
const LOAD_ROUNDS = 3;

const ms = (value) => Number(value.toFixed(3));

/** CPU time (ns) a container's cgroup used so far (cgroup v1 cpuacct, or v2 cpu.stat). */
async function cpuNs(container) {
  const id = await docker('inspect', '-f', '{{.Id}}', container);
  for (const file of [`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, `/sys/fs/cgroup/cpu,cpuacct/docker/${id}/cpuacct.usage`]) {
    if (fs.existsSync(file)) return Number(fs.readFileSync(file, 'utf8'));
  }
  const v2 = `/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`;
  if (fs.existsSync(v2)) return Number(/usage_usec (\d+)/.exec(fs.readFileSync(v2, 'utf8'))[1]) * 1000;
  return NaN;
}

export async function run() {
  const header = await resultHeader('entry-http', RUNTIME_IMAGE);
  console.log(`entry-http on ${machine()}; load average before: ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  const stack = await upStack();
  try {
    const runtimeIp = await startAdminRuntime(stack);
    const proxyIp = await addressOn(PROXY, `${PREFIX}_default`);
    const controlPlaneIp = await addressOn(CONTROL_PLANE, `${PREFIX}_default`);
    const runtimeHost = new URL(stack.runtimeUrl).host;
    const browser = {
      accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      'accept-language': 'en-US,en;q=0.9',
      // As a browser sends it. Without it Go's transport in Traefik asks the runtime for gzip on its own and
      // unzips the answer again (the client then gets it chunked): not what a browser's request costs.
      'accept-encoding': 'gzip, deflate, br',
      'sec-fetch-mode': 'navigate',
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) crewclaw-bench',
    };
    const forwarded = { 'x-forwarded-proto': 'http', 'x-forwarded-host': runtimeHost, 'x-forwarded-port': '8081', 'x-forwarded-for': proxyIp, 'x-real-ip': proxyIp };
    const path = `/u/${ADMIN.username}/`;
    const targets = {
      traefik: { url: `http://${proxyIp}:8081${path}`, headers: { ...browser, host: runtimeHost, cookie: stack.session.cookie } },
      direct: { url: `http://${runtimeIp}:${GATEWAY_PORT}${path}`, headers: { ...browser, host: runtimeHost, ...forwarded, 'x-forwarded-server': PROXY, 'x-forwarded-user': ADMIN.username } },
      forward: {
        url: `http://${controlPlaneIp}:3000/api/auth/forward`,
        headers: { ...browser, host: runtimeHost, cookie: stack.session.cookie, ...forwarded, 'x-forwarded-method': 'GET', 'x-forwarded-uri': path },
      },
    };
    const published = { url: `${stack.runtimeUrl}${path}`, headers: { ...browser, cookie: stack.session.cookie } };

    console.log('  latency, 1 connection');
    const busyBefore = await hostBusy();
    const latency = await probeFromProxy({ kind: 'http', targets, rounds: ROUNDS, connections: 1, requests: REQUESTS, warmup: 200 });
    const publishedLatency = await probeFromHost({ kind: 'http', targets: { published }, rounds: ROUNDS, connections: 1, requests: REQUESTS, warmup: 200 });
    const busyAfter = await hostBusy();

    console.log(`  load, ${LOAD_CONNECTIONS} connections`);
    const loads = Object.fromEntries(Object.keys(targets).map((name) => [name, []]));
    const containers = { traefik: PROXY, controlPlane: CONTROL_PLANE, runtime: `${PREFIX}-rt-${ADMIN.username}` };
    // Each container's own background CPU (probes, timers), taken out of the per-request figures below.
    const idleBefore = Object.fromEntries(await Promise.all(Object.entries(containers).map(async ([key, c]) => [key, await cpuNs(c)])));
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const idleAfter = Object.fromEntries(await Promise.all(Object.entries(containers).map(async ([key, c]) => [key, await cpuNs(c)])));
    const idleNsPerMs = Object.fromEntries(Object.keys(containers).map((key) => [key, (idleAfter[key] - idleBefore[key]) / 5000]));
    for (let round = 0; round < LOAD_ROUNDS; round += 1) {
      for (const [name, target] of Object.entries(targets)) {
        const before = Object.fromEntries(await Promise.all(Object.entries(containers).map(async ([key, c]) => [key, await cpuNs(c)])));
        const began = performance.now();
        const result = await probeFromProxy({ kind: 'http', targets: { [name]: target }, rounds: 1, connections: LOAD_CONNECTIONS, requests: LOAD_REQUESTS, warmup: 200 });
        const elapsedMs = performance.now() - began;
        const after = Object.fromEntries(await Promise.all(Object.entries(containers).map(async ([key, c]) => [key, await cpuNs(c)])));
        // Per request sent (the warm-up's 200 included), less the container's background CPU over the run.
        const cpuUsPerRequest = Object.fromEntries(Object.keys(containers).map((key) => [key, Number(((after[key] - before[key] - idleNsPerMs[key] * elapsedMs) / 1000 / (LOAD_REQUESTS + 200)).toFixed(1))]));
        loads[name].push({ p50: ms(result[name].p50), p99: ms(result[name].p99), rps: Math.round(result[name].rounds[0].rps), cpuUsPerRequest });
      }
    }

    const pick = (s) => ({ p50: ms(s.p50), p90: ms(s.p90), p99: ms(s.p99), max: ms(s.max), rounds: s.rounds.map((r) => ({ p50: ms(r.p50), p99: ms(r.p99) })) });
    const { traefik, direct, forward } = latency;
    const result = {
      ...header,
      hostBusy: { beforeLatency: busyBefore, afterLatency: busyAfter },
      loadAverage: os.loadavg(),
      bodyBytes: Object.fromEntries(Object.entries(latency).map(([name, s]) => [name, s.bytes])),
      latency: { traefik: pick(traefik), direct: pick(direct), forward: pick(forward), published: pick(publishedLatency.published) },
      added: { p50: ms(traefik.p50 - direct.p50), p99: ms(traefik.p99 - direct.p99), ratioP50: ms(traefik.p50 / direct.p50), ratioP99: ms(traefik.p99 / direct.p99) },
      load: loads,
      idleCpuPercent: Object.fromEntries(Object.entries(idleNsPerMs).map(([key, value]) => [key, Number((value / 1e4).toFixed(2))])),
    };
    console.log(`  1 connection   traefik p50 ${ms(traefik.p50)} p99 ${ms(traefik.p99)} ms | direct p50 ${ms(direct.p50)} p99 ${ms(direct.p99)} ms | added p50 ${result.added.p50} ms, p99 ${result.added.p99} ms (ratio p50 ${result.added.ratioP50}) | forward-auth alone p50 ${ms(forward.p50)} p99 ${ms(forward.p99)} ms | published port p50 ${ms(publishedLatency.published.p50)} ms`);
    for (const [name, rounds] of Object.entries(loads)) console.log(`  ${LOAD_CONNECTIONS} connections ${name}: ${rounds.map((r) => `p50 ${r.p50} p99 ${r.p99} ms ${r.rps} req/s cpu µs/req ${JSON.stringify(r.cpuUsPerRequest)}`).join(' ; ')}`);
    console.log(`  host busy ${busyBefore} / ${busyAfter} (fraction of both cores, before / after phase 1)`);
    return result;
  } finally {
    await stack.down();
  }
}
