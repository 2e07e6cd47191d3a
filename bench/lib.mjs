// Shared helpers for benchmarks: start processes on loopback, wait for them,
// read their memory, run autocannon against them, drive Docker and the API.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export async function waitFor(url, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

/**
 * How the control plane's image runs it (Dockerfile: ENV and CMD), so benchmarks measure what ships.
 * Keep in step with the Dockerfile. BENCH_CONTROL_PLANE_ENV (JSON) adds or overrides variables;
 * BENCH_CONTROL_PLANE_NODE_ARGS (JSON array) adds Node flags, to look inside a run (say
 * `["--cpu-prof","--cpu-prof-dir=/tmp/prof"]`: Node refuses --cpu-prof in NODE_OPTIONS).
 */
export const CONTROL_PLANE_AS_SHIPPED = {
  nodeArgs: ['--max-semi-space-size=2', '--initial-old-space-size=64', ...JSON.parse(process.env.BENCH_CONTROL_PLANE_NODE_ARGS ?? '[]')],
  env: { MALLOC_MMAP_THRESHOLD_: '131072', ...JSON.parse(process.env.BENCH_CONTROL_PLANE_ENV ?? '{}') },
};

/**
 * The built control plane (`mainJs`), started as its image runs it (CONTROL_PLANE_AS_SHIPPED), on loopback,
 * in production mode, with `env` on top (data dir, prefix, limits...).
 */
export function startControlPlane({ mainJs = 'dist/server/main.js', port, dataDir, env = {} }) {
  return startNode([...CONTROL_PLANE_AS_SHIPPED.nodeArgs, mainJs], {
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    ...env,
    ...CONTROL_PLANE_AS_SHIPPED.env,
  });
}

/** What every benchmark result starts with: what ran, when, where, on which Docker and runtime image. */
export async function resultHeader(benchmark, image) {
  return {
    benchmark,
    date: new Date().toISOString(),
    machine: machine(),
    docker: await docker('version', '--format', '{{.Server.Version}}'),
    image,
    imageId: await docker('image', 'inspect', '--format', '{{.Id}}', image),
  };
}

export function startNode(args, env = {}) {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.on('exit', (code) => {
    if (code && code !== 0 && !child.stopping) console.error(`process exited ${code}: ${stderr}`);
  });
  return {
    child,
    stop: () =>
      new Promise((resolve) => {
        child.stopping = true;
        if (child.exitCode !== null) return resolve();
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

/** Resident set size of a process in MiB, from /proc. */
export function rssMiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
  return kb / 1024;
}

export function load(options) {
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

export function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'crewclaw-bench-'));
}

export function machine() {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`;
}

/** Peak resident set size of a process in MiB (VmHWM), from /proc. */
export function peakRssMiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)[1]) / 1024;
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the docker CLI; resolves with its trimmed stdout, rejects with its stderr. */
export function docker(...args) {
  return new Promise((resolve, reject) => {
    execFile('docker', args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`docker ${args.slice(0, 2).join(' ')}: ${stderr.trim() || error.message}`));
      else resolve(stdout.trim());
    });
  });
}

/**
 * One HTTP request without client timeouts (a runtime start may take minutes):
 * resolves with { status, headers, body } where body is parsed JSON when it is JSON.
 */
export function request(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(url, { method, headers: { ...headers, ...(payload && { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }) } }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed = text;
        if (/json/.test(res.headers['content-type'] ?? '')) parsed = JSON.parse(text);
        resolve({ status: res.statusCode, headers: res.headers, body: parsed });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** The cookie header a client sends back after this response. */
export function cookieOf(response) {
  const lines = [response.headers['set-cookie'] ?? []].flat();
  return lines.map((line) => line.split(';')[0]).join('; ');
}

/**
 * Listens to a server-sent events stream and calls onEvent(name, data) for each
 * event; returns a function that closes the stream.
 */
export function listenEvents(url, headers, onEvent) {
  const req = http.get(url, { headers: { ...headers, accept: 'text/event-stream' } }, (res) => {
    let buffer = '';
    res.setEncoding('utf8');
    res.on('data', (chunk) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const name = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (name && data) onEvent(name, JSON.parse(data));
      }
    });
    res.on('error', () => {});
  });
  req.on('error', () => {});
  return () => req.destroy();
}

/**
 * Polls an OpenClaw gateway's /healthz until its JSON says ok (the same test as
 * the platform's probe: the UI answers 200 with HTML on any path); resolves with
 * the time it did, from performance.now().
 */
export async function waitHealthz(host, port, { intervalMs = 50, timeoutMs = 300_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://${host}:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (response.ok && (await response.json()).ok === true) return performance.now();
    } catch {
      // not up yet
    }
    await sleep(intervalMs);
  }
  throw new Error(`http://${host}:${port}/healthz did not say ok within ${timeoutMs} ms`);
}

function cpuTimes() {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3] + fields[4];
  return { idle, total: fields.reduce((sum, value) => sum + value, 0) };
}

/**
 * Waits until the whole host has been quiet (busy below `threshold` of all cores)
 * for two one-second samples in a row, or `maxMs` passed: a runtime keeps working
 * for a while after its first healthy answer, and that must not land on the next measurement.
 * Resolves with the time waited in ms.
 */
export async function waitQuiet({ threshold = 0.25, maxMs = 60_000 } = {}) {
  const began = Date.now();
  let calm = 0;
  let previous = cpuTimes();
  while (calm < 2 && Date.now() - began < maxMs) {
    await sleep(1000);
    const now = cpuTimes();
    const busy = 1 - (now.idle - previous.idle) / Math.max(1, now.total - previous.total);
    previous = now;
    calm = busy < threshold ? calm + 1 : 0;
  }
  return Date.now() - began;
}

/**
 * Runs `work` while sampling a process's RSS every 50 ms; resolves with its result, how long it took
 * and the peak RSS in MiB.
 */
export async function withPeakRss(pid, work) {
  let peak = rssMiB(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMiB(pid));
    } catch {
      // process gone: the work fails and says why
    }
  }, 50);
  const started = process.hrtime.bigint();
  try {
    const result = await work();
    return { result, seconds: Number(process.hrtime.bigint() - started) / 1e9, peakMiB: peak };
  } finally {
    clearInterval(timer);
  }
}
