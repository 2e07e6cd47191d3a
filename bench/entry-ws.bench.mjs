// Entry layer, WebSocket: one message round trip on an OpenClaw gateway connection through Traefik vs
// straight to the runtime (issue 10). The stack as compose runs it (entry-stack.mjs), the admin's real
// runtime started through the API; the client (entry-probe.mjs, a minimal RFC 6455 client over a raw
// upgrade) runs in a helper container in Traefik's network namespace, so both paths start at the same
// place and the gateway sees the proxy's address (its only trusted proxy) either way:
//   traefik  ws://<Traefik on the project network>:8081/u/admin with the session cookie and the runtime
//            origin's Origin: forwardAuth on the upgrade, then Traefik relays the frames;
//   direct   ws://<runtime .4>:18789/u/admin with the headers Traefik would add (X-Forwarded-User,
//            -Proto, -For, -Host), which the gateway's trusted-proxy auth accepts from that address.
// On each: connect.challenge, then `connect` as the Control UI (openclaw-control-ui, device-less: the
// gateway admits it on the proxy's identity with no scopes; like the UI's bundle, it sends the gateway's
// build id as client.buildId, taken from the gateway's "reload" answer to a first connect without it; the
// probe also waits out the gateway's retryable "starting" refusals before the warm-up), then one request
// at a time, each timed from send to its `res` frame:
//   health   the gateway's health snapshot (needs no scope; ~5 ms of OpenClaw's own work);
//   refused  `status`, refused at once for the missing operator.read scope: the cheapest full round trip
//            through the gateway's dispatcher, nearest an echo.
// BENCH_WS_REQUESTS (500) requests per connection, BENCH_WS_ROUNDS (5) connections per path, paths in
// turn. Also the time from the upgrade request to `hello-ok` (forward-auth runs on the upgrade only).
// Run: `flock /tmp/crewclaw-docker.lock npm run bench entry-ws` (about 2 minutes).
import os from 'node:os';
import { machine, resultHeader } from './lib.mjs';
import { ADMIN, CONTROL_PLANE, GATEWAY_PORT, PREFIX, PROXY, RUNTIME_IMAGE, addressOn, hostBusy, probeFromProxy, startAdminRuntime, upStack } from './entry-stack.mjs';

const REQUESTS = Number(process.env.BENCH_WS_REQUESTS ?? 500);
const ROUNDS = Number(process.env.BENCH_WS_ROUNDS ?? 5);
const CASES = {
  health: { method: 'health', params: {} },
  refused: { method: 'status', params: {}, expectError: 'FORBIDDEN' },
};

const ms = (value) => Number(value.toFixed(3));

export async function run() {
  const header = await resultHeader('entry-ws', RUNTIME_IMAGE);
  console.log(`entry-ws on ${machine()}; load average before: ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  const stack = await upStack();
  try {
    const runtimeIp = await startAdminRuntime(stack);
    const proxyIp = await addressOn(PROXY, `${PREFIX}_default`);
    await addressOn(CONTROL_PLANE, `${PREFIX}_default`);
    const runtimeHost = new URL(stack.runtimeUrl).host;
    const origin = new URL(stack.runtimeUrl).origin;
    const path = `/u/${ADMIN.username}`;
    const targets = {
      traefik: { url: `http://${proxyIp}:8081${path}`, headers: { host: runtimeHost, origin, cookie: stack.session.cookie } },
      direct: {
        url: `http://${runtimeIp}:${GATEWAY_PORT}${path}`,
        headers: {
          host: runtimeHost,
          origin,
          'x-forwarded-user': ADMIN.username,
          'x-forwarded-proto': 'http',
          'x-forwarded-for': proxyIp,
          'x-forwarded-host': runtimeHost,
          'x-forwarded-port': '8081',
          'x-real-ip': proxyIp,
        },
      },
    };
    const connectParams = {
      minProtocol: 1,
      maxProtocol: 9,
      client: { id: 'openclaw-control-ui', version: 'crewclaw-bench', platform: 'linux', mode: 'webchat' },
      role: 'operator',
      scopes: ['operator.read'],
      caps: [],
    };
    const cases = {};
    for (const [name, spec] of Object.entries(CASES)) {
      console.log(`  ${name}: ${spec.method}`);
      const busy = await hostBusy();
      const result = await probeFromProxy({ kind: 'ws', targets, rounds: ROUNDS, requests: REQUESTS, warmup: 50, connectParams, ...spec });
      const pick = (s) => ({ p50: ms(s.p50), p90: ms(s.p90), p99: ms(s.p99), mean: ms(s.mean), connectP50: ms(s.connect.p50), rounds: s.rounds.map((r) => ({ p50: ms(r.p50), p99: ms(r.p99) })) });
      const { traefik, direct } = result;
      cases[name] = {
        hostBusyBefore: busy,
        scopes: result.scopes,
        startupRefusals: result.startupRefusals,
        traefik: pick(traefik),
        direct: pick(direct),
        ratio: { p50: ms(traefik.p50 / direct.p50), p99: ms(traefik.p99 / direct.p99), mean: ms(traefik.mean / direct.mean) },
        added: { p50: ms(traefik.p50 - direct.p50), p99: ms(traefik.p99 - direct.p99) },
      };
      const c = cases[name];
      console.log(`    traefik p50 ${c.traefik.p50} p99 ${c.traefik.p99} ms | direct p50 ${c.direct.p50} p99 ${c.direct.p99} ms | ratio p50 ${c.ratio.p50}, p99 ${c.ratio.p99}, mean ${c.ratio.mean} | connect p50 ${c.traefik.connectP50} vs ${c.direct.connectP50} ms | host busy ${busy} | connects refused while the gateway started ${JSON.stringify(c.startupRefusals)}`);
    }
    return { ...header, loadAverage: os.loadavg(), cases };
  } finally {
    await stack.down();
  }
}
