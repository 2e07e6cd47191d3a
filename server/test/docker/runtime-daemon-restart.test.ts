/**
 * The Docker daemon goes away under a running platform and comes back. Only a daemon that
 * scripts/docker-engine.sh started (its pid in the marker file) is ever stopped: on a host where a
 * service manager runs Docker, this test says why it skips instead.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createUser, setupAdmin, type SignedIn, type TestPlatform } from '../integration/support/test-platform';
import { containerName, docker, printingLogsOnFailure, removeTestResources, startDockerPlatform, until } from './support/docker-platform';

jest.setTimeout(600_000);

const MARKER = '/var/run/crewclaw-dockerd.pid';
const ENGINE_SCRIPT = path.resolve(__dirname, '../../../scripts/docker-engine.sh');

function ourDaemonPid(): number | null {
  try {
    const pid = Number(fs.readFileSync(MARKER, 'utf8').trim());
    process.kill(pid, 0);
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'dockerd' ? pid : null;
  } catch {
    return null;
  }
}

const daemonPid = ourDaemonPid();
const itWhenOurs = daemonPid ? it : it.skip;
if (!daemonPid) console.warn(`Skipping the daemon restart test: dockerd was not started by scripts/docker-engine.sh (no live pid in ${MARKER}).`);

describe('the Docker daemon restarting under the platform', () => {
  let test: TestPlatform;
  let erin: SignedIn;
  beforeAll(async () => {
    test = startDockerPlatform();
    const admin = await setupAdmin(test);
    erin = await createUser(test, admin, 'erin');
  });
  afterAll(() => {
    // Whatever happened, leave a daemon running for the tests after this one.
    execFileSync('bash', [ENGINE_SCRIPT], { env: { ...process.env, CREWCLAW_SKIP_COMPOSE: '1' }, stdio: 'ignore' });
    test.close();
    removeTestResources();
  });

  itWhenOurs('answers 503 while it is gone, keeps accounts working, and finds the runtime running with its files when it returns', () =>
    printingLogsOnFailure(['erin'], async () => {
      await erin.agent.post('/api/runtime/start').set('X-CSRF-Token', erin.csrfToken).expect(200);
      docker('exec', containerName('erin'), 'sh', '-c', 'echo survived > /home/node/.openclaw/daemon-restart.txt');

      process.kill(daemonPid!, 'SIGTERM');
      await until('dockerd to exit', () => (ourDaemonPid() === null ? true : undefined), 120_000);

      const gone = await erin.agent.get('/api/runtime').expect(503);
      expect(gone.body.error.message).toMatch(/Docker is not reachable/);
      await erin.agent.post('/api/runtime/start').set('X-CSRF-Token', erin.csrfToken).expect(503);
      await erin.agent.get('/api/me').expect(200);

      execFileSync('bash', [ENGINE_SCRIPT], { env: { ...process.env, CREWCLAW_SKIP_COMPOSE: '1' }, stdio: 'ignore' });
      // unless-stopped: the daemon starts the container again by itself; the platform just sees it.
      await until(
        'the runtime to be running again',
        async () => ((await erin.agent.get('/api/runtime')).body.runtime?.state === 'running' ? true : undefined),
        240_000,
      );
      expect(docker('exec', containerName('erin'), 'cat', '/home/node/.openclaw/daemon-restart.txt')).toBe('survived');
      await erin.agent.post('/api/runtime/restart').set('X-CSRF-Token', erin.csrfToken).expect(200);
    }));
});
