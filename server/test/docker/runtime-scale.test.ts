/**
 * A hundred users on one host. Docker's default address pools run out near 30 bridge networks, so
 * every user network comes from the platform's own pool (a /28 each). Ninety-eight runtimes are
 * created (network, volume, container) without starting them, which is what uses addresses; the
 * last two users then start theirs through the API and must come up, isolated from each other.
 */
import { RuntimeRepository } from '../../src/repositories/runtime.repository';
import { subnetCapacity } from '../../src/runtimes/runtime-names';
import { createUser, setupAdmin, type SignedIn, type TestPlatform } from '../integration/support/test-platform';
import {
  PREFIX,
  RUNTIME_IMAGE,
  SUBNET_POOL,
  connectFrom,
  docker,
  dockerEnv,
  driverFor,
  egressAddress,
  printingLogsOnFailure,
  removeTestResources,
  runtimeAddress,
  startDockerPlatform,
} from './support/docker-platform';

jest.setTimeout(900_000);

const USERS = Array.from({ length: 100 }, (_, index) => `scale${index}`);

describe('a hundred users on one host', () => {
  let test: TestPlatform;
  let lastTwo: SignedIn[];
  beforeAll(async () => {
    test = startDockerPlatform();
    const admin = await setupAdmin(test);
    lastTwo = [];
    for (const username of USERS) {
      const member = await createUser(test, admin, username);
      if (USERS.indexOf(username) >= 98) lastTwo.push(member);
    }
  });
  afterAll(() => {
    test.close();
    removeTestResources();
  });

  it('gives each of them a network of its own, and the hundredth still starts, isolated', async () => {
    const driver = driverFor(dockerEnv());
    const repository = new RuntimeRepository(test.database.db);
    const capacity = subnetCapacity(SUBNET_POOL);
    for (const username of USERS.slice(0, 98)) {
      const user = test.platform.services.users.findByUsername(username)!;
      const { subnetIndex } = repository.ensure(user.id, capacity);
      await driver.create({
        username,
        image: RUNTIME_IMAGE,
        subnetIndex: subnetIndex!,
        limits: { memoryBytes: 2 ** 30, nanoCpus: 1e9, pidsLimit: 512 },
        env: {},
        labels: {},
        specHash: 'scale-test',
      });
    }
    await printingLogsOnFailure(USERS.slice(98), async () => {
      const started = await Promise.all(lastTwo.map((member) => member.agent.post('/api/runtime/start').set('X-CSRF-Token', member.csrfToken)));
      expect(started.map((response) => [response.status, response.body.runtime?.state])).toEqual([
        [200, 'running'],
        [200, 'running'],
      ]);
    });

    // User networks only (the shared egress network is the one other).
    const networks = docker('network', 'ls', '--filter', `label=org.crewclaw.platform=${PREFIX}`, '--filter', 'label=org.crewclaw.role=network', '--format', '{{.Name}}')
      .split('\n')
      .filter(Boolean);
    expect(networks).toHaveLength(100);
    const subnets = networks.map((network) => docker('network', 'inspect', '-f', '{{(index .IPAM.Config 0).Subnet}}', network));
    expect(new Set(subnets).size).toBe(100);
    const pool = SUBNET_POOL.split('.').slice(0, 2).join('.');
    expect(subnets.every((subnet) => subnet.startsWith(`${pool}.`) && subnet.endsWith('/28'))).toBe(true);

    const [ninetyNinth, hundredth] = USERS.slice(98) as [string, string];
    expect(connectFrom(hundredth, runtimeAddress(hundredth))).toBe(0);
    expect(connectFrom(hundredth, runtimeAddress(ninetyNinth))).toBe(7);
    // Neither on the network they both leave through.
    expect(connectFrom(hundredth, egressAddress(ninetyNinth))).toBe(7);
  });
});
