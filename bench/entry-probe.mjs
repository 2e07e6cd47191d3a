// The client side of the entry benchmarks (entry-http, entry-ws). It runs inside a helper container that
// shares Traefik's network namespace (`docker run --network container:<prefix>-proxy`), so that the path
// through Traefik and the path straight to the runtime start from the same place, with the same client,
// and the runtime sees the proxy's address (.2 on the user's network, its only trusted proxy) either way.
// No dependencies: plain node:http with keep-alive, and a minimal WebSocket client over a raw upgrade.
//
//   node entry-probe.mjs '<JSON plan>'   prints one JSON result on stdout
//
// Plan: { kind: 'http' | 'ws', rounds, targets: { name: { url, headers } }, ... } (see runHttp, runWs).
// Targets are measured in turn, round after round, so that drift in the machine's load falls on all alike.
import crypto from 'node:crypto';
import http from 'node:http';

const plan = JSON.parse(process.argv[2]);

/** Sorted latencies (ms) -> the figures the benchmarks report. */
function summary(samples) {
  const sorted = Float64Array.from(samples).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  return { n: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1], mean };
}

/**
 * `connections` keep-alive connections, each sending its next request as soon as the last answer has
 * been read whole, for `requests` answers in all; any answer but `expect` fails the run.
 */
async function httpLoop({ url, headers, expect = 200 }, { connections, requests }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const samples = [];
  let sent = 0;
  let bytes = 0;
  const one = () =>
    new Promise((resolve, reject) => {
      const began = performance.now();
      const req = http.get(url, { agent, headers }, (res) => {
        let length = 0;
        res.on('data', (chunk) => (length += chunk.length));
        res.on('end', () => {
          bytes = length;
          if (res.statusCode !== expect) reject(new Error(`${url}: ${res.statusCode}, expected ${expect}`));
          else resolve(performance.now() - began);
        });
      });
      req.on('error', reject);
    });
  const worker = async () => {
    while (sent < requests) {
      sent += 1;
      samples.push(await one());
    }
  };
  const began = performance.now();
  await Promise.all(Array.from({ length: connections }, worker));
  const seconds = (performance.now() - began) / 1000;
  agent.destroy();
  return { samples, rps: requests / seconds, bytes };
}

async function runHttp() {
  const { targets, rounds, connections, requests, warmup } = plan;
  const samples = Object.fromEntries(Object.keys(targets).map((name) => [name, []]));
  const perRound = Object.fromEntries(Object.keys(targets).map((name) => [name, []]));
  const bytes = {};
  for (const target of Object.values(targets)) await httpLoop(target, { connections, requests: warmup });
  for (let round = 0; round < rounds; round += 1) {
    for (const [name, target] of Object.entries(targets)) {
      const result = await httpLoop(target, { connections, requests });
      samples[name].push(...result.samples);
      bytes[name] = result.bytes;
      const { p50, p99 } = summary(result.samples);
      perRound[name].push({ p50, p99, rps: result.rps });
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, { ...summary(values), bytes: bytes[name], rounds: perRound[name] }]));
}

/** A minimal WebSocket client (RFC 6455): text frames out (masked), text frames in, pings answered. */
function openWebSocket(url, headers) {
  return new Promise((resolve, reject) => {
    const key = crypto.randomBytes(16).toString('base64');
    const req = http.get(url, {
      headers: { ...headers, Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': key },
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => reject(new Error(`${url}: ${res.statusCode} instead of an upgrade: ${body.slice(0, 300)}`)));
    });
    req.on('error', reject);
    req.on('upgrade', (res, socket, head) => {
      socket.setNoDelay(true);
      const listeners = [];
      const unheard = []; // messages that came before anyone listened (the challenge can come with the 101)
      let buffer = head;
      let fragments = [];
      const send = (text, opcode = 0x1) => {
        const payload = Buffer.from(text);
        const length = payload.length;
        const header = length < 126 ? Buffer.alloc(2) : length < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
        header[0] = 0x80 | opcode;
        if (length < 126) header[1] = 0x80 | length;
        else if (length < 65536) {
          header[1] = 0x80 | 126;
          header.writeUInt16BE(length, 2);
        } else {
          header[1] = 0x80 | 127;
          header.writeBigUInt64BE(BigInt(length), 2);
        }
        const mask = crypto.randomBytes(4);
        for (let i = 0; i < length; i += 1) payload[i] ^= mask[i & 3];
        socket.write(Buffer.concat([header, mask, payload]));
      };
      const parse = () => {
        for (;;) {
          if (buffer.length < 2) return;
          const fin = buffer[0] & 0x80;
          const opcode = buffer[0] & 0x0f;
          let length = buffer[1] & 0x7f;
          let offset = 2;
          if (length === 126) {
            if (buffer.length < 4) return;
            length = buffer.readUInt16BE(2);
            offset = 4;
          } else if (length === 127) {
            if (buffer.length < 10) return;
            length = Number(buffer.readBigUInt64BE(2));
            offset = 10;
          }
          if (buffer.length < offset + length) return;
          const payload = buffer.subarray(offset, offset + length);
          buffer = buffer.subarray(offset + length);
          if (opcode === 0x9) send(payload, 0xa);
          else if (opcode === 0x8) socket.end();
          else if (opcode === 0x1 || opcode === 0x0) {
            fragments.push(payload);
            if (fin) {
              const text = Buffer.concat(fragments).toString('utf8');
              fragments = [];
              if (listeners.length) for (const listener of listeners) listener(text);
              else unheard.push(text);
            }
          }
        }
      };
      socket.on('data', (chunk) => {
        buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
        parse();
      });
      const closed = new Promise((done) => socket.on('close', done));
      resolve({ send, onMessage: (listener) => {
          listeners.push(listener);
          for (const text of unheard.splice(0)) listener(text);
        }, close: () => (socket.end(), closed), closed, socket });
      parse();
    });
  });
}

/** Frames of an OpenClaw gateway connection, as a queue: next(predicate) resolves with the first matching one. */
function frames(ws) {
  const queue = [];
  const waiting = [];
  ws.onMessage((text) => {
    const frame = JSON.parse(text);
    const index = waiting.findIndex((wait) => wait.predicate(frame));
    if (index >= 0) waiting.splice(index, 1)[0].resolve(frame);
    else queue.push(frame);
  });
  return (predicate, timeoutMs = 30_000) => {
    const index = queue.findIndex(predicate);
    if (index >= 0) return Promise.resolve(queue.splice(index, 1)[0]);
    return new Promise((resolve, reject) => {
      const entry = { predicate, resolve };
      waiting.push(entry);
      setTimeout(() => {
        const at = waiting.indexOf(entry);
        if (at >= 0) {
          waiting.splice(at, 1);
          reject(new Error(`no matching frame within ${timeoutMs} ms`));
        }
      }, timeoutMs).unref();
    });
  };
}

/**
 * Opens a gateway connection as the Control UI does (after connect.challenge, a `connect` request as the
 * openclaw-control-ui client, device-less: trusted-proxy auth admits it from the proxy's headers), then
 * sends `requests` requests of `method`, one at a time, each timed from send to its `res` frame. An error
 * answer fails the run, unless its code is `expectError` (a refused request is a round trip too).
 */
async function gatewayRoundTrips({ url, headers }, { method, params, requests, connectParams, expectError }) {
  const began = performance.now();
  const ws = await openWebSocket(url, headers);
  const next = frames(ws);
  await next((frame) => frame.type === 'event' && frame.event === 'connect.challenge');
  ws.send(JSON.stringify({ type: 'req', id: 'connect', method: 'connect', params: connectParams }));
  const hello = await next((frame) => frame.type === 'res' && frame.id === 'connect');
  if (!hello.ok) throw new Error(`connect refused: ${JSON.stringify(hello.error ?? hello).slice(0, 400)}`);
  const connectMs = performance.now() - began;
  const samples = [];
  for (let i = 0; i < requests; i += 1) {
    const id = `r${i}`;
    const sentAt = performance.now();
    ws.send(JSON.stringify({ type: 'req', id, method, params }));
    const answer = await next((frame) => frame.type === 'res' && frame.id === id);
    samples.push(performance.now() - sentAt);
    if (!answer.ok && !(expectError && answer.error?.code === expectError)) throw new Error(`${method} failed: ${JSON.stringify(answer.error ?? answer).slice(0, 400)}`);
  }
  await ws.close();
  return { samples, connectMs, scopes: hello.payload?.auth?.scopes ?? null };
}

/**
 * Waits until the gateway admits a `connect` on `target`. The runtime is reported running once its gateway
 * answers health checks, but for a while after that OpenClaw still refuses `connect` with a retryable
 * UNAVAILABLE ("gateway starting; retry shortly", reason startup-sidecars): a fresh connection is tried
 * again after its retryAfterMs until it is admitted (at most `timeoutMs`). A Control UI client must also send
 * the gateway's build id (client.buildId, baked into the UI's bundle): when the gateway answers "reload"
 * with its build id, it is set in `connectParams` for every later connection. Not timed; any other refusal
 * fails the run.
 */
async function untilGatewayAdmits({ url, headers }, connectParams, timeoutMs = 120_000) {
  const deadline = performance.now() + timeoutMs;
  let refusals = 0;
  for (;;) {
    const ws = await openWebSocket(url, headers);
    const next = frames(ws);
    await next((frame) => frame.type === 'event' && frame.event === 'connect.challenge');
    ws.send(JSON.stringify({ type: 'req', id: 'connect', method: 'connect', params: connectParams }));
    const hello = await next((frame) => frame.type === 'res' && frame.id === 'connect');
    await ws.close();
    if (hello.ok) return refusals;
    const details = hello.error?.details;
    if (details?.code === 'PROTOCOL_MISMATCH' && details.reloadRequired && details.gatewayBuildId && !connectParams.client.buildId) {
      // The Control UI's bundle carries its gateway's build id and sends it as client.buildId; a Control UI
      // client without it is told to reload. Send the one this gateway names, as the UI it serves does.
      connectParams.client.buildId = details.gatewayBuildId;
      continue;
    }
    if (!hello.error?.retryable || performance.now() > deadline) throw new Error(`connect refused: ${JSON.stringify(hello.error ?? hello).slice(0, 400)}`);
    refusals += 1;
    await new Promise((resolve) => setTimeout(resolve, hello.error.retryAfterMs ?? 500));
  }
}

async function runWs() {
  const { targets, rounds, requests, warmup, method, params, connectParams, expectError } = plan;
  const results = Object.fromEntries(Object.keys(targets).map((name) => [name, { samples: [], connectMs: [], rounds: [] }]));
  const startupRefusals = {};
  for (const [name, target] of Object.entries(targets)) startupRefusals[name] = await untilGatewayAdmits(target, connectParams);
  for (const target of Object.values(targets)) await gatewayRoundTrips(target, { method, params, connectParams, expectError, requests: warmup });
  let scopes = null;
  for (let round = 0; round < rounds; round += 1) {
    for (const [name, target] of Object.entries(targets)) {
      const result = await gatewayRoundTrips(target, { method, params, connectParams, expectError, requests });
      scopes = result.scopes;
      results[name].samples.push(...result.samples);
      results[name].connectMs.push(result.connectMs);
      const { p50, p99 } = summary(result.samples);
      results[name].rounds.push({ p50, p99 });
    }
  }
  return {
    scopes,
    startupRefusals,
    ...Object.fromEntries(
      Object.entries(results).map(([name, result]) => [name, { ...summary(result.samples), connect: summary(result.connectMs), rounds: result.rounds }]),
    ),
  };
}

const result = plan.kind === 'ws' ? await runWs() : await runHttp();
process.stdout.write(`${JSON.stringify(result)}\n`);
