/**
 * Runtimes that go away or fail without the platform asking: killed, removed, crashed, out of
 * memory. The user must see what happened, and the next visit through the proxy's check must bring
 * the runtime back, however it went away.
 */
import { setupAdmin, type SignedIn, type TestPlatform } from '../integration/support/test-platform';
import { containerName, docker, printingLogsOnFailure, removeTestResources, startDockerPlatform, until } from './support/docker-platform';

jest.setTimeout(300_000);

const post = (who: SignedIn, url: string) => who.agent.post(url).set('X-CSRF-Token', who.csrfToken);

describe('a runtime that goes away behind the platform\'s back', () => {
  let platform: TestPlatform;
  let admin: SignedIn;
  beforeAll(async () => {
    platform = startDockerPlatform();
    admin = await setupAdmin(platform);
  });
  afterAll(() => {
    platform?.close();
    removeTestResources();
  });

  const runtime = async () => (await admin.agent.get('/api/runtime').expect(200)).body.runtime as { state: string; notice: string | null; lastExit: Record<string, unknown> | null };
  /** What Traefik's forward-auth check gets for a script's request to the runtime. */
  const forward = () => admin.agent.get('/api/auth/forward').set('X-Forwarded-Method', 'GET').set('X-Forwarded-Uri', '/u/admin/').set('Accept', 'application/json');
  const startRunning = async () => {
    const started = await post(admin, '/api/runtime/start');
    expect(started.body.error ?? null).toBeNull();
    expect(started.body.runtime.state).toBe('running');
  };

  it('is woken by the next visit after a docker kill, and says it was killed', () =>
    printingLogsOnFailure(['admin'], async () => {
      await startRunning();
      expect((await forward()).status).toBe(200);
      docker('kill', containerName('admin'));
      const after = await until('the kill to be noticed', async () => {
        const view = await runtime();
        return view.lastExit ? view : undefined;
      }, 20_000);
      expect(after).toMatchObject({ state: 'stopped', lastExit: { cause: 'killed', outcome: 'stopped', exitCode: 137, signal: 'SIGKILL' } });
      expect(after.notice).toMatch(/killed \(SIGKILL\)/);
      // Not "ready" for a dead container: the check starts it and says to wait.
      const visit = await forward();
      expect(visit.status).toBe(503);
      expect(visit.body.error.code).toBe('runtime_starting');
      await until('the woken runtime to pass the check', async () => ((await forward()).status === 200 ? true : undefined), 120_000);
      expect(docker('inspect', '-f', '{{.State.Running}}', containerName('admin'))).toBe('true');
    }));

  it('makes a new container on the next visit after a docker rm -f, and says it was removed', () =>
    printingLogsOnFailure(['admin'], async () => {
      await startRunning();
      const before = docker('inspect', '-f', '{{.Id}}', containerName('admin'));
      docker('rm', '-f', containerName('admin'));
      const after = await until('the removal to be noticed', async () => {
        const view = await runtime();
        return view.state === 'absent' && view.lastExit ? view : undefined;
      }, 20_000);
      expect(after.lastExit).toMatchObject({ outcome: 'removed' });
      expect((await forward()).status).toBe(503);
      await until('the new runtime to pass the check', async () => ((await forward()).status === 200 ? true : undefined), 120_000);
      expect(docker('inspect', '-f', '{{.Id}}', containerName('admin'))).not.toBe(before);
    }));

  it('says when a process in it was killed for lack of memory', () =>
    printingLogsOnFailure(['admin'], async () => {
      await startRunning();
      // A runaway process of the agent's, well past the runtime's 2 GiB: the kernel kills it.
      try {
        docker('exec', containerName('admin'), 'node', '-e', 'const a = []; for (;;) a.push(Buffer.alloc(64 << 20, 1));');
      } catch {
        // killed, as expected
      }
      const after = await until('the out-of-memory kill to be noticed', async () => {
        const view = await runtime();
        return view.lastExit ? view : undefined;
      }, 20_000);
      expect(after.lastExit).toMatchObject({ cause: 'out_of_memory', memoryMb: 2048 });
      expect(after.notice).toMatch(/lack of memory|ran out of memory/);
    }));

  it('refuses a memory limit under what the runtime uses now with a 409 that says why, and keeps the old one', () =>
    printingLogsOnFailure(['admin'], async () => {
      await startRunning();
      const before = docker('inspect', '-f', '{{.HostConfig.Memory}}', containerName('admin'));
      const refused = await admin.agent.patch('/api/admin/runtimes/admin/limits').set('X-CSRF-Token', admin.csrfToken).send({ memoryMb: 512 });
      expect(refused.status).toBe(409);
      expect(refused.body.error).toEqual({ code: 'limits_refused', message: expect.stringMatching(/using \d+ MiB of memory right now, more than 512 MiB\. Stop it first.*old limits are kept/) });
      expect(docker('inspect', '-f', '{{.HostConfig.Memory}}', containerName('admin'))).toBe(before);
      expect((await runtime()).state).toBe('running');
      const limits = (await admin.agent.get('/api/runtime').expect(200)).body.runtime.limits;
      expect(limits).toEqual({ memoryMb: 2048, cpus: 2, custom: false });
    }));
});
