/**
 * Reaching a runtime through the proxy's forward-auth check, on the real daemon: who gets in, the
 * identity header OpenClaw trusts, and a stopped runtime started again by the next visit.
 */
import { createUser, setupAdmin, type SignedIn, type TestPlatform } from '../integration/support/test-platform';
import { containerName, docker, printingLogsOnFailure, removeTestResources, startDockerPlatform, until } from './support/docker-platform';

jest.setTimeout(400_000);

/** What Traefik sends to the forwardAuth address for a request to `uri`. */
const asProxy = (uri: string, kind: 'page' | 'fetch') => ({
  'X-Forwarded-Method': 'GET',
  'X-Forwarded-Proto': 'http',
  'X-Forwarded-Host': 'localhost:8080',
  'X-Forwarded-Uri': uri,
  Accept: kind === 'page' ? 'text/html,application/xhtml+xml' : 'application/json',
  ...(kind === 'page' && { 'Sec-Fetch-Mode': 'navigate' }),
});

async function waitUntilRunning(who: SignedIn): Promise<void> {
  await until(
    'the runtime to be running',
    async () => {
      const { body } = await who.agent.get('/api/runtime').expect(200);
      if (body.runtime.state === 'error') throw new Error(`runtime failed: ${body.runtime.error?.message}`);
      return body.runtime.state === 'running' ? true : undefined;
    },
    240_000,
  );
}

describe('reaching a runtime through the proxy', () => {
  let test: TestPlatform;
  let dana: SignedIn;
  beforeAll(async () => {
    test = startDockerPlatform();
    const admin = await setupAdmin(test);
    dana = await createUser(test, admin, 'dana');
  });
  afterAll(() => {
    test.close();
    removeTestResources();
  });

  it('sends visitors who are not signed in to sign in, and keeps other users out', async () => {
    const anonymous = test.request();
    const page = await anonymous.get('/api/auth/forward').set(asProxy('/u/dana/chat?session=main', 'page')).expect(302);
    expect(page.headers.location).toBe(`http://localhost:8080/?next=${encodeURIComponent('/u/dana/chat?session=main')}`);
    const script = await anonymous.get('/api/auth/forward').set(asProxy('/u/dana/api/x', 'fetch')).expect(401);
    expect(script.body.error.code).toBe('unauthorized');
    // Someone else's runtime, and paths that are no runtime at all, look like nothing there.
    await dana.agent.get('/api/auth/forward').set(asProxy('/u/admin/', 'page')).expect(404);
    await dana.agent.get('/api/auth/forward').set(asProxy('/u/dana-x/', 'page')).expect(404);
    await dana.agent.get('/api/auth/forward').set(asProxy('/api/users', 'page')).expect(404);
    expect(docker('ps', '-aq', '--filter', `name=^${containerName('dana')}$`)).toBe('');
  });

  it('starts a runtime on its user\'s first visit and lets them in, as themselves, once it is ready', () =>
    printingLogsOnFailure(['dana'], async () => {
      const first = await dana.agent.get('/api/auth/forward').set(asProxy('/u/dana/', 'page')).expect(302);
      expect(first.headers.location).toBe('http://localhost:8080/?next=%2Fu%2Fdana%2F');
      const meanwhile = await dana.agent.get('/api/auth/forward').set(asProxy('/u/dana/assets/app.js', 'fetch')).expect(503);
      expect(meanwhile.headers['retry-after']).toBe('5');
      expect(meanwhile.body.error.code).toBe('runtime_starting');
      await waitUntilRunning(dana);
      const through = await dana.agent.get('/api/auth/forward').set(asProxy('/u/dana/', 'page')).expect(200);
      expect(through.headers['x-forwarded-user']).toBe('dana');
    }));

  it('starts an idle-stopped runtime again on the next visit, with its files', () =>
    printingLogsOnFailure(['dana'], async () => {
      docker('exec', containerName('dana'), 'sh', '-c', 'echo kept > /home/node/.openclaw/access-test.txt');
      test.database.sqlite.prepare('UPDATE runtimes SET last_activity_at = ?').run(Date.now() - 3 * 3600_000);
      // Its Control UI really checked (docker exec in the runtime): no connection from the proxy, so stopped.
      expect(await test.platform.services.runtimes.stopIdle(60)).toEqual({ stopped: ['dana'], unchecked: [] });
      expect(docker('inspect', '-f', '{{.State.Status}}', containerName('dana'))).toBe('exited');

      await dana.agent.get('/api/auth/forward').set(asProxy('/u/dana/', 'page')).expect(302);
      await waitUntilRunning(dana);
      await dana.agent.get('/api/auth/forward').set(asProxy('/u/dana/', 'page')).expect(200);
      expect(docker('exec', containerName('dana'), 'cat', '/home/node/.openclaw/access-test.txt')).toBe('kept');
    }));
});
