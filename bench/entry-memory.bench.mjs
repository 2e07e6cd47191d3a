// Entry layer, memory: the Traefik container's memory with 0, 25 and 100 user networks joined (issue 10).
// The stack as compose runs it (entry-stack.mjs). User networks are made as the runtime driver makes them
// (server/src/runtimes/docker/docker-driver.ts: an internal bridge on the user's /28 from the pool, the
// platform's labels) and Traefik is joined to each at .2, as the control plane joins it. Then, at each
// size, an idle runtime-like container on each network at .4 (the runtime image running `sleep`, 16 MiB
// limit) with the routing labels the platform writes (server/src/proxy/routing-labels.ts), so that
// Traefik's Docker provider also holds a router and a service per user, as with real runtimes.
// Steps, one after the other on the same Traefik: none; 25 networks; 25 networks + 25 routed containers;
// 100 networks (+25 routed); 100 networks + 100 routed containers. The baseline is the first: the same
// Traefik on no user network. At each step, after BENCH_MEMORY_SETTLE_S (10) s, BENCH_MEMORY_SAMPLES (5)
// samples a second apart, medians of:
//   stats     what `docker stats` shows: the cgroup's usage minus its inactive file pages (v1);
//   anon      the cgroup's anonymous memory (memory.stat total_rss): Traefik's heap and stacks;
//   rss       Traefik's resident set (VmRSS; RssFile is mostly its mapped binary, shared with the page cache).
// Run: `flock /tmp/crewclaw-docker.lock npm run bench entry-memory` (about 4 minutes).
import fs from 'node:fs';
import os from 'node:os';
import { docker, machine, median, resultHeader, sleep } from './lib.mjs';
import { PREFIX, PROXY, RUNTIME_IMAGE, SUBNET_POOL, hostBusy, upStack } from './entry-stack.mjs';

const SETTLE_S = Number(process.env.BENCH_MEMORY_SETTLE_S ?? 10);
const SAMPLES = Number(process.env.BENCH_MEMORY_SAMPLES ?? 5);
const FIRST_INDEX = 16; // subnets 0-15 of the pool are left to the platform's own users
const MiB = 2 ** 20;

/** The /28 at `index` of the pool, as runtime-names.ts subnetPlan lays it out. */
function plan(index) {
  const [base, bits] = SUBNET_POOL.split('/');
  const toInt = (ip) => ip.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
  const toIp = (value) => [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
  const start = ((toInt(base) & (2 ** 32 - 2 ** (32 - Number(bits)))) >>> 0) + index * 16;
  return { subnet: `${toIp(start)}/28`, gateway: toIp(start + 1), proxy: toIp(start + 2), runtime: toIp(start + 4) };
}

const userName = (i) => `bench${String(i).padStart(3, '0')}`;

async function addNetwork(i) {
  const user = userName(i);
  const { subnet, gateway, proxy } = plan(FIRST_INDEX + i);
  const network = `${PREFIX}-net-${user}`;
  await docker(
    'network', 'create', '--driver', 'bridge', '--internal', '--subnet', subnet, '--gateway', gateway,
    '--label', `org.crewclaw.platform=${PREFIX}`, '--label', 'org.crewclaw.role=network', '--label', `org.crewclaw.user=${user}`, network,
  );
  await docker('network', 'connect', '--ip', proxy, network, PROXY);
}

/** An idle container on the user's network, labelled as routing-labels.ts labels a runtime. */
async function addRoutedContainer(i) {
  const user = userName(i);
  const container = `${PREFIX}-rt-${user}`;
  const network = `${PREFIX}-net-${user}`;
  const router = `traefik.http.routers.${container}`;
  const labels = {
    'org.crewclaw.platform': PREFIX,
    'org.crewclaw.role': 'runtime',
    'org.crewclaw.user': user,
    'traefik.enable': 'true',
    'org.crewclaw.routing': 'runtime-origin',
    'traefik.docker.network': network,
    [`${router}.rule`]: `Path(\`/u/${user}\`) || PathPrefix(\`/u/${user}/\`)`,
    [`${router}.entrypoints`]: 'runtimes',
    [`${router}.middlewares`]: 'crewclaw-auth@file,crewclaw-runtime-headers@file',
    [`${router}.service`]: container,
    [`traefik.http.services.${container}.loadbalancer.server.port`]: '18789',
  };
  await docker(
    'run', '-d', '--name', container, '--network', network, '--ip', plan(FIRST_INDEX + i).runtime, '--memory', '16m',
    ...Object.entries(labels).flatMap(([key, value]) => ['--label', `${key}=${value}`]),
    '--entrypoint', 'sleep', RUNTIME_IMAGE, 'infinity',
  );
}

async function proxyMemory() {
  const id = await docker('inspect', '-f', '{{.Id}}', PROXY);
  const pid = await docker('inspect', '-f', '{{.State.Pid}}', PROXY);
  const dir = `/sys/fs/cgroup/memory/docker/${id}`;
  const samples = [];
  for (let i = 0; i < SAMPLES; i += 1) {
    const usage = Number(fs.readFileSync(`${dir}/memory.usage_in_bytes`, 'utf8'));
    const stat = Object.fromEntries(fs.readFileSync(`${dir}/memory.stat`, 'utf8').trim().split('\n').map((line) => line.split(' ')).map(([k, v]) => [k, Number(v)]));
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)[1]) / 1024;
    samples.push({ stats: (usage - stat.total_inactive_file) / MiB, anon: stat.total_rss / MiB, rss: kb('VmRSS'), rssAnon: kb('RssAnon') });
    await sleep(1000);
  }
  const mid = (key) => Number(median(samples.map((s) => s[key])).toFixed(1));
  return { stats: mid('stats'), anon: mid('anon'), rss: mid('rss'), rssAnon: mid('rssAnon') };
}

export async function run() {
  const header = await resultHeader('entry-memory', RUNTIME_IMAGE);
  console.log(`entry-memory on ${machine()}; load average before: ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  const stack = await upStack();
  try {
    const steps = [];
    const measure = async (networks, routed) => {
      await sleep(SETTLE_S * 1000);
      const busy = await hostBusy();
      const memory = await proxyMemory();
      const joined = Object.keys(JSON.parse(await docker('inspect', '-f', '{{json .NetworkSettings.Networks}}', PROXY))).length;
      steps.push({ networks, routed, proxyNetworks: joined, hostBusy: busy, ...memory });
      const base = steps[0];
      console.log(`  ${networks} networks, ${routed} routed: stats ${memory.stats} MiB (+${(memory.stats - base.stats).toFixed(1)}), anon ${memory.anon} MiB (+${(memory.anon - base.anon).toFixed(1)}), VmRSS ${memory.rss} MiB, Traefik on ${joined} networks, host busy ${busy}`);
    };
    let networks = 0;
    let routed = 0;
    const grow = async (toNetworks, toRouted) => {
      for (; networks < toNetworks; networks += 1) await addNetwork(networks);
      for (; routed < toRouted; routed += 1) await addRoutedContainer(routed);
      await measure(networks, routed);
    };
    await measure(0, 0);
    await grow(25, 0);
    await grow(25, 25);
    await grow(100, 25);
    await grow(100, 100);
    return { ...header, loadAverage: os.loadavg(), steps };
  } finally {
    await stack.down();
  }
}
