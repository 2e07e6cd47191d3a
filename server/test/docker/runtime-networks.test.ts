/**
 * User networks made by an older version: ordinary bridges with a gateway, which Docker 20.10 may make
 * the default route (and the published ports' way in) of any shared container that joins them. A
 * stand-in container plays the shared one (the control plane, Traefik), on its own network named the
 * way compose names one, which sorts after every user network.
 */
import { execFileSync } from 'node:child_process';
import { DockerDriver } from '../../src/runtimes/docker/docker-driver';
import { SubnetTakenError } from '../../src/runtimes/runtime-driver';
import { subnetPlan } from '../../src/runtimes/runtime-names';
import { setupAdmin, type SignedIn, type TestPlatform } from '../integration/support/test-platform';
import { EGRESS_NETWORK, PREFIX, RUNTIME_IMAGE, SUBNET_POOL, TEST_LABEL, containerName, docker, printingLogsOnFailure, removeTestResources, startDockerPlatform } from './support/docker-platform';

jest.setTimeout(300_000);

const PEER = `${PREFIX}-peer`;
const PEER_NETWORK = `${PREFIX}_default`;
const LABELS = ['--label', `${TEST_LABEL}=1`, '--label', `org.crewclaw.platform=${PREFIX}`];

const networksOf = (container: string) =>
  JSON.parse(docker('inspect', '-f', '{{json .NetworkSettings.Networks}}', container)) as Record<string, { IPAddress: string; Gateway: string; Aliases: string[] | null }>;

/** The gateway of a container's default route, from the kernel's table inside it. */
function defaultGateway(container: string): string {
  const rows = docker('exec', container, 'cat', '/proc/net/route').split('\n').slice(1).map((row) => row.trim().split(/\s+/));
  const hex = rows.find((fields) => fields[1] === '00000000')?.[2];
  return hex ? (hex.match(/../g) ?? []).reverse().map((octet) => parseInt(octet, 16)).join('.') : 'none';
}

/** An older version's user network: a plain bridge on the user's /28, gateway .1. */
function makeOldNetwork(username: string, subnet: string, gateway: string): void {
  docker('network', 'create', ...LABELS, '--label', `org.crewclaw.user=${username}`, '--label', 'org.crewclaw.role=network', '--subnet', subnet, '--gateway', gateway, `${PREFIX}-net-${username}`);
}

describe('user networks left by an older version', () => {
  let test: TestPlatform;
  let admin: SignedIn;
  let peerGateway: string;
  beforeAll(async () => {
    docker('network', 'create', ...LABELS, PEER_NETWORK);
    docker('run', '-d', '--name', PEER, '--network', PEER_NETWORK, ...LABELS, '--entrypoint', 'sleep', RUNTIME_IMAGE, 'infinity');
    peerGateway = networksOf(PEER)[PEER_NETWORK]!.Gateway;
    test = startDockerPlatform();
    admin = await setupAdmin(test);
  });
  afterAll(() => {
    test.close();
    removeTestResources();
  });

  it('is replaced by an internal one when its runtime next starts, files kept, old members let go', () =>
    printingLogsOnFailure(['admin'], async () => {
      const post = (url: string) => admin.agent.post(url).set('X-CSRF-Token', admin.csrfToken);
      expect((await post('/api/runtime/start')).body.runtime?.state).toBe('running');
      docker('exec', '-u', '1000', containerName('admin'), 'sh', '-c', 'echo kept > /home/node/.openclaw/workspace/marker.txt');
      expect((await post('/api/runtime/stop')).body.runtime?.state).toBe('stopped');

      // Turn it into what an older version left: its network an ordinary bridge, no egress network,
      // and a shared container joined at .3.
      const network = `${PREFIX}-net-admin`;
      const [subnet, gateway] = docker('network', 'inspect', '-f', '{{(index .IPAM.Config 0).Subnet}} {{(index .IPAM.Config 0).Gateway}}', network).split(' ') as [string, string];
      // The fixed plan: .1 the bridge, .3 the control plane, .4 the runtime.
      const plus = (offset: number) => gateway.replace(/\d+$/, (last) => String(Number(last) + offset));
      const runtimeIp = plus(3);
      if (networksOf(containerName('admin'))[EGRESS_NETWORK]) docker('network', 'disconnect', EGRESS_NETWORK, containerName('admin'));
      docker('network', 'disconnect', network, containerName('admin'));
      docker('network', 'rm', network);
      makeOldNetwork('admin', subnet, gateway);
      docker('network', 'connect', '--ip', runtimeIp, network, containerName('admin'));
      docker('network', 'connect', '--ip', plus(2), network, PEER);
      // The hazard itself: the old network sorts first and took the shared container's default route.
      expect(defaultGateway(PEER)).toBe(gateway);
      const oldId = docker('inspect', '-f', '{{.Id}}', containerName('admin'));

      const started = await post('/api/runtime/start');
      expect([started.body.error ?? null, started.body.runtime?.state]).toEqual([null, 'running']);
      expect(docker('network', 'inspect', '-f', '{{.Internal}} {{(index .IPAM.Config 0).Subnet}}', network)).toBe(`true ${subnet}`);
      expect(docker('inspect', '-f', '{{.Id}}', containerName('admin'))).not.toBe(oldId);
      const runtimeNetworks = networksOf(containerName('admin'));
      expect(runtimeNetworks[network]?.IPAddress).toBe(runtimeIp);
      expect(runtimeNetworks[EGRESS_NETWORK]?.IPAddress).toBeTruthy();
      expect(docker('exec', containerName('admin'), 'cat', '/home/node/.openclaw/workspace/marker.txt')).toBe('kept');
      expect(Object.keys(networksOf(PEER))).toEqual([PEER_NETWORK]);
      expect(defaultGateway(PEER)).toBe(peerGateway);
    }));

  it('never gets a shared container joined, and takes one off it, until the runtime is made again', async () => {
    const driver = new DockerDriver({
      socketPath: '/var/run/docker.sock',
      prefix: PREFIX,
      subnetPool: SUBNET_POOL,
      extraLabels: { [TEST_LABEL]: '1' },
      controlPlaneContainer: PEER,
    });
    const username = 'oldtimer';
    const network = `${PREFIX}-net-${username}`;
    // A /28 nobody else on this daemon uses (parallel runs share the pool), from the top down.
    let subnetIndex = 4095;
    for (;; subnetIndex -= 1) {
      const plan = subnetPlan(SUBNET_POOL, subnetIndex);
      try {
        makeOldNetwork(username, plan.subnet, plan.gateway);
        break;
      } catch (error) {
        if (subnetIndex < 3900) throw error;
      }
    }
    const plan = subnetPlan(SUBNET_POOL, subnetIndex);
    docker('network', 'connect', '--ip', plan.controlPlane, network, PEER);
    expect(defaultGateway(PEER)).toBe(plan.gateway);

    // As after a control plane restart, for a runtime that kept running on its old network.
    await expect(driver.connectPeers(username, subnetIndex)).rejects.toThrow(/not internal/);
    expect(Object.keys(networksOf(PEER))).toEqual([PEER_NETWORK]);
    expect(defaultGateway(PEER)).toBe(peerGateway);
    await expect(driver.connectPeers(username, subnetIndex)).rejects.toThrow(/not internal/);
    expect(Object.keys(networksOf(PEER))).toEqual([PEER_NETWORK]);

    // Made again: the network is replaced, the shared container joins it at .3 and keeps its routes.
    await driver.create({
      username,
      image: RUNTIME_IMAGE,
      subnetIndex,
      limits: { memoryBytes: 2 ** 30, nanoCpus: 1e9, pidsLimit: 512 },
      env: {},
      labels: {},
      specHash: 'current',
    });
    expect(docker('network', 'inspect', '-f', '{{.Internal}}', network)).toBe('true');
    const joined = networksOf(PEER)[network];
    expect(joined?.IPAddress).toBe(plan.controlPlane);
    expect(joined?.Aliases).toContain('control-plane');
    expect(defaultGateway(PEER)).toBe(peerGateway);
    expect(Object.keys(networksOf(containerName(username))).sort()).toEqual([EGRESS_NETWORK, network].sort());
    expect((await driver.find(username))?.specHash).toBe('current');

    // A container without its way out is from an older layout: the service is told to make it again.
    docker('network', 'disconnect', EGRESS_NETWORK, containerName(username));
    expect((await driver.find(username))?.specHash).toBe('');

    // So is one with a Docker health check, as versions before the idle fix made them.
    await driver.removeContainer(username);
    docker('create', '--name', containerName(username), ...LABELS, '--label', `org.crewclaw.user=${username}`, '--label', 'org.crewclaw.role=runtime',
      '--label', 'org.crewclaw.spec-hash=current', '--network', network, '--health-cmd', 'true', '--health-interval', '2s', RUNTIME_IMAGE);
    docker('network', 'connect', EGRESS_NETWORK, containerName(username));
    expect((await driver.find(username))?.specHash).toBe('');
    await driver.remove(username, { purgeVolume: true });
  });
});

describe('the shared egress network', () => {
  // A prefix of its own, so that this test sees the egress network made from nothing.
  const prefix = `${PREFIX}e`;
  const egress = `${prefix}-egress`;
  const driver = new DockerDriver({ socketPath: '/var/run/docker.sock', prefix, subnetPool: SUBNET_POOL, extraLabels: { [TEST_LABEL]: '1' } });
  const egressIds = () => docker('network', 'ls', '-q', '--no-trunc', '--filter', `name=^${egress}$`).split('\n').filter(Boolean);
  const users = ['race0', 'race1', 'race2', 'race3'];
  let nextIndex = 3990;

  /** Creates a runtime on a /28 no parallel run uses, from the top of the pool down. */
  async function createOnFreeSubnet(username: string) {
    for (;;) {
      const subnetIndex = (nextIndex -= 1);
      try {
        return await driver.create({ username, image: RUNTIME_IMAGE, subnetIndex, limits: { memoryBytes: 2 ** 30, nanoCpus: 5e8, pidsLimit: 256 }, env: {}, labels: {}, specHash: 'current' });
      } catch (error) {
        if (!(error instanceof SubnetTakenError) || subnetIndex < 3800) throw error;
      }
    }
  }

  afterAll(async () => {
    for (const username of users) await driver.remove(username, { purgeVolume: true });
    for (const id of egressIds()) docker('network', 'rm', id);
  });

  it('is made once when many runtimes are created at the same moment', async () => {
    expect(egressIds()).toEqual([]);
    const made = await Promise.allSettled(users.map((username) => createOnFreeSubnet(username)));
    expect(made.map((result) => (result.status === 'fulfilled' ? 'made' : String(result.reason)))).toEqual(users.map(() => 'made'));
    const [only, ...others] = egressIds();
    expect(others).toEqual([]);
    // Docker names the network a container is on only once it runs.
    docker('start', ...users.map((username) => `${prefix}-rt-${username}`));
    for (const username of users) {
      expect(docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${egress}").NetworkID}}`, `${prefix}-rt-${username}`)).toBe(only);
    }
  });

  it('left twice by an older version, is merged into the oldest, its members kept', async () => {
    const [kept] = egressIds() as [string];
    // Docker's API makes a second network of the same name when asked without its duplicate check.
    const duplicate = JSON.parse(
      execFileSync('curl', ['-sf', '--unix-socket', '/var/run/docker.sock', '-H', 'Content-Type: application/json', '-d',
        JSON.stringify({ Name: egress, CheckDuplicate: false, Options: { 'com.docker.network.bridge.enable_icc': 'false' }, Labels: { [TEST_LABEL]: '1', 'org.crewclaw.platform': prefix } }),
        'http://localhost/networks/create'], { encoding: 'utf8' }),
    ).Id as string;
    docker('network', 'disconnect', kept, `${prefix}-rt-race0`);
    docker('network', 'connect', duplicate, `${prefix}-rt-race0`);
    expect(egressIds().sort()).toEqual([kept, duplicate].sort());
    await driver.removeContainer('race3');
    await createOnFreeSubnet('race3');
    expect(egressIds()).toEqual([kept]);
    docker('start', `${prefix}-rt-race3`);
    expect(docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${egress}").NetworkID}}`, `${prefix}-rt-race3`)).toBe(kept);
    expect(docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${egress}").NetworkID}}`, `${prefix}-rt-race0`)).toBe(kept);
  });
});
