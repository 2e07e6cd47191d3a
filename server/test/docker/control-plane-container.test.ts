import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import dns from 'node:dns/promises';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import supertest from 'supertest';
import { startOutsideHost, type OutsideHost } from './support/outside-host';
import {
  EGRESS_NETWORK,
  PREFIX,
  SUBNET_POOL,
  connectFrom,
  connectFromHost,
  containerName,
  docker,
  egressAddress,
  freePort,
  printingLogsOnFailure,
  removeTestResources,
  runtimeAddress,
} from './support/docker-platform';

jest.setTimeout(600_000);

const CONTROL_PLANE = `${PREFIX}-control-plane`;
const CONTROL_PLANE_IMAGE = process.env.CREWCLAW_TEST_CONTROL_PLANE_IMAGE ?? 'crewclaw/control-plane:dev';
/**
 * The control plane's own network, named the way compose names a project's default network
 * (`crewclaw_default`). "-" sorts before "_", so every user network (`crewclaw-net-<user>`) sorts
 * before it: the order in which Docker 20.10 would hand a user network the default route.
 */
const OWN_NETWORK = `${PREFIX}_default`;

/** The gateway of a container's default route, read from the kernel's table inside it. */
function defaultGateway(container: string): string {
  const rows = docker('exec', container, 'cat', '/proc/net/route').split('\n').slice(1).map((row) => row.trim().split(/\s+/));
  const hex = rows.find((fields) => fields[1] === '00000000')?.[2];
  // Little-endian hex: 010012AC is 172.18.0.1.
  return hex ? (hex.match(/../g) ?? []).reverse().map((octet) => parseInt(octet, 16)).join('.') : 'none';
}

/** Where the host forwards a published port: docker-proxy's target, and any DNAT rule's. */
function publishedTargets(port: number): string[] {
  const proxies = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes('docker-proxy') && line.includes(`-host-port ${port} `))
    .map((line) => /-container-ip (\S+)/.exec(line)?.[1] ?? line);
  const rules = execFileSync('iptables', ['-t', 'nat', '-S', 'DOCKER'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(`--dport ${port} `) && line.includes('DNAT'))
    .map((line) => /--to-destination ([\d.]+):/.exec(line)?.[1] ?? line);
  return [...new Set([...proxies, ...rules])];
}

interface Download {
  /** Bytes received so far. */
  received(): number;
  /** Stops holding back: the rest arrives as fast as it comes. */
  hurry(): void;
  abort(): void;
  done: Promise<{ complete: boolean; bytes: number; sha256: string; error: string | null }>;
}

/** A download read at a crawl (backpressure holds the server), so it stays in flight for minutes. */
function slowDownload(url: string, cookie: string, bytesPerSecond: number): Download {
  let received = 0;
  let slow = true;
  let request: http.ClientRequest | undefined;
  const hash = createHash('sha256');
  const done = new Promise<{ complete: boolean; bytes: number; sha256: string; error: string | null }>((resolve) => {
    let error: string | null = null;
    request = http.get(url, { headers: { cookie } }, (response) => {
      if (response.statusCode !== 200) error = `HTTP ${response.statusCode}`;
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        hash.update(chunk);
        if (!slow) return;
        response.pause();
        setTimeout(() => response.resume(), (chunk.length / bytesPerSecond) * 1000);
      });
      response.on('error', (cause) => (error ??= cause.message));
      response.on('close', () => resolve({ complete: response.complete, bytes: received, sha256: hash.digest('hex'), error }));
    });
    request.on('error', (cause) => resolve({ complete: false, bytes: received, sha256: '', error: cause.message }));
  });
  return { received: () => received, hurry: () => (slow = false), abort: () => request?.destroy(), done };
}

/** The control plane as compose runs it: in its own container, driving Docker through the socket. */
describe('the control plane image, in a container', () => {
  let base: string;
  let agent: ReturnType<typeof supertest.agent>;
  let csrfToken: string;
  let cookie: string;
  let port: number;
  beforeAll(async () => {
    // On a network of its own and a fixed published port, as compose runs it.
    docker('network', 'create', '--label', 'org.crewclaw.test=1', '--label', `org.crewclaw.platform=${PREFIX}`, OWN_NETWORK);
    port = await freePort();
    docker(
      'run', '-d', '--name', CONTROL_PLANE, '--init', '--network', OWN_NETWORK,
      '--label', 'org.crewclaw.test=1', '--label', `org.crewclaw.platform=${PREFIX}`,
      '-v', '/var/run/docker.sock:/var/run/docker.sock', '-p', `127.0.0.1:${port}:3000`,
      '-e', `CONTROL_PLANE_CONTAINER=${CONTROL_PLANE}`, '-e', `RUNTIME_NAME_PREFIX=${PREFIX}`, '-e', `RUNTIME_SUBNET_POOL=${SUBNET_POOL}`,
      CONTROL_PLANE_IMAGE,
    );
    base = `http://127.0.0.1:${port}`;
    let ready = false;
    for (let attempt = 0; attempt < 120 && !ready; attempt += 1) {
      // docker-proxy accepts connections before the server listens: never wait on one for long.
      ready = await fetch(`${base}/api/ready`, { signal: AbortSignal.timeout(2000) }).then((response) => response.ok, () => false);
      if (!ready) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    if (!ready) throw new Error(`the control plane did not get ready:\n${docker('logs', CONTROL_PLANE)}`);
    // The first account, signed in; each test below starts from here and stands on its own.
    agent = supertest.agent(base);
    const setup = await agent.post('/api/setup').send({ username: 'owner', password: 'owner-password' }).expect(201);
    csrfToken = setup.body.csrfToken as string;
    cookie = (setup.headers['set-cookie'] as unknown as string[]).map((line) => line.split(';')[0]).join('; ');
  });
  afterAll(() => removeTestResources());

  it('joins the user network at its fixed address and brings the runtime to running', () =>
    printingLogsOnFailure(['owner'], async () => {
      const started = await agent.post('/api/runtime/start').set('X-CSRF-Token', csrfToken);
      expect(started.body.error ?? null).toBeNull();
      expect(started.body.runtime.state).toBe('running');

      const network = `${PREFIX}-net-owner`;
      const networks = JSON.parse(docker('inspect', '-f', '{{json .NetworkSettings.Networks}}', CONTROL_PLANE));
      const joined = networks[network];
      // .3 and .4 of the user's /28 (which /28 depends on what other runs on this daemon hold).
      const inPlan = (address: string) => Number(address.split('.')[3]) % 16;
      expect(inPlan(joined.IPAddress)).toBe(3);
      expect(joined.Aliases).toContain('control-plane');
      // The user network has no way out (never anyone's default route); the runtime's is the egress
      // network, which the control plane does not join.
      expect(docker('network', 'inspect', '-f', '{{.Internal}}', network)).toBe('true');
      expect(inPlan(runtimeAddress('owner'))).toBe(4);
      expect(egressAddress('owner')).not.toBe('');
      expect(Object.keys(networks)).not.toContain(EGRESS_NETWORK);
      // From inside the runtime, the control plane is reachable by name for its model endpoint, and for
      // nothing else (server/src/http/runtime-networks.ts).
      const answer = docker('exec', containerName('owner'), 'node', '-e', "Promise.all(['/v1/models', '/api/health'].map((path) => fetch('http://control-plane:3000' + path).then((r) => r.status))).then((s) => console.log(s.join(' ')))");
      expect(answer).toBe('401 404');
    }));

  // Uploads, downloads and zips travel over the data channel: a TCP connection from the control plane
  // to the runtime on the user's network. Here it starts from the control plane's own container, as
  // in a compose deployment, not from the host as in the other Docker tests. (Run alone, the first
  // files call starts the runtime: the files API starts a stopped runtime itself.)
  it('moves files in and out over the data channel from its container', () =>
    printingLogsOnFailure(['owner'], async () => {
      const content = randomBytes(3 * 1024 * 1024 + 7);
      const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
      const uploaded = await agent
        .post('/api/files/upload?path=&name=inbox/report.bin')
        .set('X-CSRF-Token', csrfToken)
        .set('Content-Type', 'application/octet-stream')
        .send(content)
        .expect(201);
      expect(uploaded.body.files).toEqual([{ path: 'inbox/report.bin', size: content.length }]);
      const bytesOf = async (url: string) => {
        const response = await fetch(`${base}${url}`, { headers: { cookie } });
        expect(response.status).toBe(200);
        return Buffer.from(await response.arrayBuffer());
      };
      expect(sha256(await bytesOf('/api/files/content?path=inbox/report.bin'))).toBe(sha256(content));
      const zip = await bytesOf('/api/files/archive?path=inbox');
      const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'crewclaw-zip-'));
      try {
        fs.writeFileSync(path.join(scratch, 'inbox.zip'), zip);
        // Python's zipfile checks every entry's CRC-32 while it extracts.
        execFileSync('python3', ['-m', 'zipfile', '-e', path.join(scratch, 'inbox.zip'), path.join(scratch, 'out')]);
        expect(sha256(fs.readFileSync(path.join(scratch, 'out/inbox/report.bin')))).toBe(sha256(content));
      } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
      }
    }));

  // Docker 20.10 gives a container on several networks its default route, and moves its published
  // port, to the first network with a gateway, by name: a user network the control plane joins must
  // never be such a network, or each new user could cut every connection in flight. Users whose
  // names sort first and last come and go while a download runs through the published port.
  it('keeps its routes and a running download while users come and go, whatever their names', () =>
    printingLogsOnFailure(['owner', 'aa-net', 'admin', 'api', 'zz'], async () => {
      const outside: OutsideHost = await startOutsideHost(`${PREFIX}-out`);
      let download: Download | undefined;
      try {
        const post = (url: string) => agent.post(url).set('X-CSRF-Token', csrfToken);
        expect((await post('/api/runtime/start')).body.runtime?.state).toBe('running');
        const size = 160 * 1024 * 1024;
        const digest = docker(
          'exec', '-u', '1000', containerName('owner'), 'sh', '-c',
          `head -c ${size} /dev/urandom > /home/node/.openclaw/workspace/big.bin && sha256sum /home/node/.openclaw/workspace/big.bin`,
        ).split(' ')[0];

        const own = JSON.parse(docker('inspect', '-f', '{{json .NetworkSettings.Networks}}', CONTROL_PLANE))[OWN_NETWORK] as { IPAddress: string; Gateway: string };
        const expected = { gateway: own.Gateway, published: [own.IPAddress] };
        const routesAfter = (step: string) => ({ step, gateway: defaultGateway(CONTROL_PLANE), published: publishedTargets(port) });
        expect(routesAfter('the owner started')).toEqual({ step: 'the owner started', ...expected });

        download = slowDownload(`${base}/api/files/content?path=big.bin`, cookie, 128 * 1024);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        expect(download.received()).toBeGreaterThan(0);

        const users = ['aa-net', 'admin', 'api', 'zz'];
        const ids: Record<string, number> = {};
        for (const username of users) {
          const created = await post('/api/users').send({ username, password: `${username}-password-1`, role: 'user' });
          expect(created.status).toBe(201);
          ids[username] = created.body.user.id as number;
          const started = await post(`/api/admin/runtimes/${username}/start`);
          expect([username, started.body.error ?? null, started.body.runtime?.state]).toEqual([username, null, 'running']);
          expect(routesAfter(`${username} started`)).toEqual({ step: `${username} started`, ...expected });
        }

        // Runtimes still reach the outside world and the control plane by name, and never each other,
        // neither on the user networks nor on the egress network they share.
        const [first, last] = ['aa-net', 'zz'] as const;
        for (const username of [first, last]) expect([username, connectFrom(username, outside.address, outside.port)]).toEqual([username, 0]);
        const controlPlaneThere = docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${PREFIX}-net-${first}").IPAddress}}`, CONTROL_PLANE);
        expect(Number(controlPlaneThere.split('.')[3]) % 16).toBe(3); // .3 of the user's /28
        expect(docker('exec', containerName(first), 'getent', 'hosts', 'control-plane').split(/\s+/)[0]).toBe(controlPlaneThere);
        const outsideName = 'registry.npmjs.org';
        const fromHost = (await dns.lookup(outsideName, { family: 4 })).address;
        expect(docker('exec', containerName(first), 'getent', 'ahostsv4', outsideName).split(/\s+/)[0]).toBe(fromHost);
        expect(connectFrom(first, runtimeAddress(last))).toBe(7);
        expect(connectFrom(last, runtimeAddress(first))).toBe(7);
        expect(await connectFromHost(egressAddress(last))).toBe(0); // it listens there: only its neighbours are kept out
        expect(connectFrom(first, egressAddress(last))).toBe(7);
        expect(connectFrom(last, egressAddress(first))).toBe(7);
        expect(connectFrom(first, own.IPAddress, 3000)).toBe(7);

        for (const username of users) {
          const stopped = await post(`/api/admin/runtimes/${username}/stop`);
          expect([username, stopped.body.runtime?.state]).toEqual([username, 'stopped']);
          expect(routesAfter(`${username} stopped`)).toEqual({ step: `${username} stopped`, ...expected });
        }
        for (const username of users) {
          await agent.delete(`/api/users/${ids[username]}?purge=true`).set('X-CSRF-Token', csrfToken).expect(204);
          expect(docker('network', 'ls', '-q', '--filter', `name=^${PREFIX}-net-${username}$`)).toBe('');
          expect(routesAfter(`${username} deleted`)).toEqual({ step: `${username} deleted`, ...expected });
        }

        // Still in flight after all of that, then whole.
        expect(download.received()).toBeLessThan(size);
        download.hurry();
        const result = await download.done;
        expect(result).toEqual({ complete: true, bytes: size, sha256: digest, error: null });
      } finally {
        download?.abort();
        outside.close();
      }
    }));
});
