import { createUser, setupAdmin, type SignedIn, type TestPlatform } from '../integration/support/test-platform';
import { PREFIX, containerName, docker, printingLogsOnFailure, removeTestResources, startDockerPlatform } from './support/docker-platform';

jest.setTimeout(600_000);

const USERS = Array.from({ length: 10 }, (_, index) => `crew${index}`);
const ipOf = (username: string) => docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${PREFIX}-net-${username}").IPAddress}}`, containerName(username));
/** Exit 0 when `url` answers from inside the user's runtime, 7 when the connection fails. */
const reachFrom = (username: string, url: string) => {
  try {
    docker('exec', containerName(username), 'node', '-e', `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(3000) }).then(() => process.exit(0), () => process.exit(7))`);
    return 0;
  } catch (error) {
    return (error as { status?: number }).status ?? -1;
  }
};

describe('many runtimes on one host', () => {
  let test: TestPlatform;
  let members: SignedIn[];
  beforeAll(async () => {
    test = startDockerPlatform();
    const admin = await setupAdmin(test);
    members = [];
    for (const username of USERS) members.push(await createUser(test, admin, username));
  });
  afterAll(() => {
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
      expect(reachFrom(first, `http://${ipOf(first)}:18789/healthz`)).toBe(0);
      // But not another user's runtime, in either direction.
      expect(reachFrom(first, `http://${ipOf(second)}:18789/healthz`)).toBe(7);
      expect(reachFrom(second, `http://${ipOf(first)}:18789/healthz`)).toBe(7);
    }));
});
