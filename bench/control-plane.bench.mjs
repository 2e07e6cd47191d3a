// Issue #2 benchmark: the control plane's idle memory, and GET /api/me latency
// under 200 concurrent connections for 10 s, side by side with two floors
// answering the same body: bare node:http, and Express 5 with helmet.
// Targets: idle RSS < 120 MB; p99 < 20 ms on our 2-core machine.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, freePort, load, machine, rssMiB, startControlPlane, startNode, tempDir, waitFor } from './lib.mjs';

const CONNECTIONS = 200;
const DURATION_S = 10;

async function measure(url, headers) {
  // A short warm-up lets the JIT settle, as it would in a long-running server.
  await load({ url, headers, connections: 20, duration: 2 });
  const result = await load({ url, headers, connections: CONNECTIONS, duration: DURATION_S });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { rps: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, requests: result.requests.total };
}

export async function run() {
  if (!fs.existsSync(path.join(ROOT, 'dist/server/main.js'))) throw new Error('Run `npm run build` first.');
  const dataDir = tempDir();
  const port = await freePort();
  const server = startControlPlane({ port, dataDir });
  const basePort = await freePort();
  const baseline = startNode(['bench/baseline-server.mjs', 'node', String(basePort)]);
  const expressPort = await freePort();
  const expressFloor = startNode(['bench/baseline-server.mjs', 'express', String(expressPort)]);
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitFor(`${base}/api/ready`);
    await waitFor(`http://127.0.0.1:${basePort}/`);
    await waitFor(`http://127.0.0.1:${expressPort}/`);
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const idleRss = rssMiB(server.child.pid);
    const baselineIdleRss = rssMiB(baseline.child.pid);

    const setup = await fetch(`${base}/api/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'bench-password' }),
    });
    if (setup.status !== 201) throw new Error(`setup failed: ${setup.status}`);
    const cookie = setup.headers.getSetCookie().map((line) => line.split(';')[0]).join('; ');

    const ours = await measure(`${base}/api/me`, { cookie });
    const floor = await measure(`http://127.0.0.1:${basePort}/`, {});
    const framework = await measure(`http://127.0.0.1:${expressPort}/`, {});
    const loadedRss = rssMiB(server.child.pid);

    const result = {
      benchmark: 'control plane: idle memory and GET /api/me under load',
      date: new Date().toISOString(),
      machine: machine(),
      idleRssMiB: Number(idleRss.toFixed(1)),
      baselineIdleRssMiB: Number(baselineIdleRss.toFixed(1)),
      rssAfterLoadMiB: Number(loadedRss.toFixed(1)),
      me: ours,
      baseline: floor,
      expressHelmet: framework,
      p99Ratio: Number((ours.p99 / Math.max(floor.p99, 1)).toFixed(2)),
      p99RatioToExpress: Number((ours.p99 / Math.max(framework.p99, 1)).toFixed(2)),
      targets: { idleRssUnder120MB: idleRss * 1.048576 < 120, p99Under20ms: ours.p99 < 20 },
    };
    console.log(`
Control plane (${result.machine})
  idle RSS            ${result.idleRssMiB} MiB   (bare node:http ${result.baselineIdleRssMiB} MiB)   target < 120 MB: ${result.targets.idleRssUnder120MB ? 'met' : 'MISSED'}
  GET /api/me         p50 ${ours.p50} ms  p99 ${ours.p99} ms  ${ours.rps} req/s   (${CONNECTIONS} connections, ${DURATION_S} s)
  bare node:http      p50 ${floor.p50} ms  p99 ${floor.p99} ms  ${floor.rps} req/s
  express + helmet    p50 ${framework.p50} ms  p99 ${framework.p99} ms  ${framework.rps} req/s
  ratio p99 ours/bare ${result.p99Ratio}   ours/express ${result.p99RatioToExpress}    target p99 < 20 ms: ${result.targets.p99Under20ms ? 'met' : 'MISSED'}
  RSS after the load  ${result.rssAfterLoadMiB} MiB`);
    return result;
  } finally {
    await Promise.all([server.stop(), baseline.stop(), expressFloor.stop()]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
