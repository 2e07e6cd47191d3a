import { setupAdmin, signIn, startTestPlatform, type SignedIn } from '../integration/support/test-platform';
import { execFileSync } from 'node:child_process';
import { RUNTIME_IMAGE, containerName, docker, dockerEnv, driverFor, printingLogsOnFailure, removeTestResources, startDockerPlatform } from './support/docker-platform';

jest.setTimeout(300_000);

const CRASHING_IMAGE = 'crewclaw/runtime:crash-test';
const NEXT_IMAGE = 'crewclaw/runtime:next-test';

const post = (who: SignedIn, url: string) => who.agent.post(url).set('X-CSRF-Token', who.csrfToken);

describe('runtimes across control plane restarts and failures', () => {
  afterAll(() => removeTestResources());

  it('adopts running runtimes after a control plane restart, and Docker and the database agree', async () => {
    const first = startDockerPlatform();
    const admin = await setupAdmin(first);
    await printingLogsOnFailure(['admin'], async () => {
      await post(admin, '/api/runtime/start').expect(200);
      const id = docker('inspect', '-f', '{{.Id}}', containerName('admin'));
      docker('exec', containerName('admin'), 'sh', '-c', 'echo across-restarts > /home/node/.openclaw/workspace/adopted.txt');
      first.close({ keepData: true });

      // A new control plane process on the same data directory and the same Docker.
      const second = startDockerPlatform({}, first.dataDir);
      try {
        const again = await signIn(second, 'admin', 'admin-password-1');
        const status = await again.agent.get('/api/runtime').expect(200);
        expect(status.body.runtime.state).toBe('running');
        await post(again, '/api/runtime/start').expect(200);
        expect(docker('inspect', '-f', '{{.Id}}', containerName('admin'))).toBe(id);
        expect(docker('exec', containerName('admin'), 'cat', '/home/node/.openclaw/workspace/adopted.txt')).toBe('across-restarts');
        await post(again, '/api/runtime/stop').expect(200);
      } finally {
        second.close();
      }
    });
  });

  it('answers 503 with a clear message while Docker is unreachable, and accounts keep working', async () => {
    const env = dockerEnv({ DOCKER_SOCKET: '/tmp/crewclaw-no-docker-here.sock' });
    const broken = startTestPlatform(env, { driver: driverFor(env) });
    try {
      const admin = await setupAdmin(broken);
      for (const call of [admin.agent.get('/api/runtime'), post(admin, '/api/runtime/start'), admin.agent.get('/api/admin/runtimes')]) {
        const response = await call.expect(503);
        expect(response.body.error).toEqual({ code: 'service_unavailable', message: expect.stringContaining('Docker is not reachable') });
      }
      // Accounts keep working without Docker.
      await admin.agent.get('/api/me').expect(200);
    } finally {
      broken.close();
    }
  });

  it('reports a gateway that crashes on start as an error naming the cause, with its last log lines, and rolls an upgrade back', async () => {
    // An image whose gateway dies at once, like a broken release.
    execFileSync('docker', ['build', '-q', '--label', 'org.crewclaw.test=1', '-t', CRASHING_IMAGE, '-'], {
      input: `FROM ${RUNTIME_IMAGE}\nCMD ["sh", "-c", "echo boom: the gateway cannot start >&2; exit 3"]\n`,
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    const crashing = startDockerPlatform({ RUNTIME_IMAGE: CRASHING_IMAGE });
    try {
      const admin = await setupAdmin(crashing, { username: 'crashy', password: 'crashy-password' });
      await printingLogsOnFailure(['crashy'], async () => {
        const failed = await post(admin, '/api/runtime/start').expect(502);
        expect(failed.body.error).toEqual({ code: 'runtime_failed', message: expect.stringMatching(/^The runtime stopped while starting: its process (exited with code 3|kept exiting and being restarted)\.$/) });
        const status = await admin.agent.get('/api/runtime').expect(200);
        expect(status.body.runtime.state).toBe('error');
        expect(status.body.runtime.error.logs).toContain('boom: the gateway cannot start');
      });
    } finally {
      crashing.close();
    }

    // Health-gated upgrade: a runtime on the good image, then the admin configures the broken one.
    const good = startDockerPlatform();
    const admin = await setupAdmin(good, { username: 'upgrader', password: 'upgrader-password' });
    await post(admin, '/api/runtime/start').expect(200);
    docker('exec', containerName('upgrader'), 'sh', '-c', 'echo still-here > /home/node/.openclaw/workspace/keep.txt');
    good.close({ keepData: true });
    const upgrading = startDockerPlatform({ RUNTIME_IMAGE: CRASHING_IMAGE }, good.dataDir);
    try {
      const again = await signIn(upgrading, 'upgrader', 'upgrader-password');
      await printingLogsOnFailure(['upgrader'], async () => {
        const restarted = await post(again, '/api/runtime/restart').expect(200);
        expect(restarted.body.runtime).toMatchObject({ state: 'running', image: 'crewclaw/runtime:dev' });
        expect(restarted.body.runtime.notice).toMatch(/upgrade to crewclaw\/runtime:crash-test failed.*back on crewclaw\/runtime:dev/);
        expect(docker('exec', containerName('upgrader'), 'cat', '/home/node/.openclaw/workspace/keep.txt')).toBe('still-here');
      });
    } finally {
      upgrading.close();
    }
  });

  it('moves a runtime to a new image on restart, keeping its files, when the configured image changes', async () => {
    // A newer release: the same runtime, rebuilt under another tag.
    execFileSync('docker', ['build', '-q', '--label', 'org.crewclaw.test=1', '--label', 'org.crewclaw.release=next', '-t', NEXT_IMAGE, '-'], {
      input: `FROM ${RUNTIME_IMAGE}\n`,
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    const current = startDockerPlatform();
    const admin = await setupAdmin(current, { username: 'mover', password: 'mover-password' });
    await printingLogsOnFailure(['mover'], async () => {
      await post(admin, '/api/runtime/start').expect(200);
      docker('exec', containerName('mover'), 'sh', '-c', 'echo moved-along > /home/node/.openclaw/workspace/upgrade.txt');
    });
    current.close({ keepData: true });
    const next = startDockerPlatform({ RUNTIME_IMAGE: NEXT_IMAGE }, current.dataDir);
    try {
      const again = await signIn(next, 'mover', 'mover-password');
      await printingLogsOnFailure(['mover'], async () => {
        const upgraded = await post(again, '/api/admin/runtimes/upgrade').send({}).expect(200);
        expect(upgraded.body.runtimes).toEqual([expect.objectContaining({ username: 'mover', state: 'running', image: NEXT_IMAGE, notice: null })]);
        expect(docker('inspect', '-f', '{{.Config.Image}}', containerName('mover'))).toBe(NEXT_IMAGE);
        expect(docker('exec', containerName('mover'), 'cat', '/home/node/.openclaw/workspace/upgrade.txt')).toBe('moved-along');
        const audit = next.database.sqlite.prepare("SELECT result, detail FROM audit_log WHERE action = 'runtime.upgrade'").all();
        expect(audit).toEqual([{ result: 'success', detail: JSON.stringify({ from: RUNTIME_IMAGE, to: NEXT_IMAGE }) }]);
      });
    } finally {
      next.close();
    }
  });
});
