import { createUser, setupAdmin, type SignedIn, type TestPlatform } from '../integration/support/test-platform';
import { startOutsideHost, type OutsideHost } from './support/outside-host';
import { PREFIX, connectFrom, containerName, docker, printingLogsOnFailure, removeTestResources, runtimeAddress, startDockerPlatform } from './support/docker-platform';

jest.setTimeout(600_000);

const USERS = Array.from({ length: 10 }, (_, index) => `crew${index}`);

describe('many runtimes on one host', () => {
  let test: TestPlatform;
  let members: SignedIn[];
  let outside: OutsideHost;
  beforeAll(async () => {
    outside = await startOutsideHost(`${PREFIX}-out`);
    test = startDockerPlatform();
    const admin = await setupAdmin(test);
    members = [];
    for (const username of USERS) members.push(await createUser(test, admin, username));
  });
  afterAll(() => {
    outside.close();
    test.close();
    removeTestResources();
  });

  it('starts ten users at once, each on its own network', () =>
    printingLogsOnFailure(USERS, async () => {
      const results = await Promise.all(members.map((member) => member.agent.post('/api/runtime/start').set('X-CSRF-Token', member.csrfToken)));
      expect(results.map((result) => [result.status, result.body.runtime?.state])).toEqual(USERS.map(() => [200, 'running']));
      const networks = new Set(USERS.map((username) => docker('inspect', '-f', '{{.HostConfig.NetworkMode}}', containerName(username))));
      expect(networks.size).toBe(USERS.length);
    }));

  it('keeps runtimes from connecting to each other', () =>
    printingLogsOnFailure(USERS.slice(0, 2), () => {
      const [first, second] = USERS as [string, string];
      // The probe itself works: a runtime reaches its own gateway on its own address.
      expect(connectFrom(first, runtimeAddress(first))).toBe(0);
      // But not another user's runtime, in either direction.
      expect(connectFrom(first, runtimeAddress(second))).toBe(7);
      expect(connectFrom(second, runtimeAddress(first))).toBe(7);
    }));

  it('lets runtimes reach servers outside the host', () =>
    printingLogsOnFailure(USERS.slice(0, 1), () => {
      expect(connectFrom(USERS[0]!, outside.address, outside.port)).toBe(0);
    }));
});
