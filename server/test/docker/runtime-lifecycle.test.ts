import http from 'node:http';
import { setupAdmin, createUser, type SignedIn, type TestPlatform } from '../integration/support/test-platform';
import { subnetPlan } from '../../src/runtimes/runtime-names';
import { containerName, docker, printingLogsOnFailure, removeTestResources, startDockerPlatform, PREFIX, SUBNET_POOL, until } from './support/docker-platform';

jest.setTimeout(300_000);

// A provider key in the control plane's own environment must never travel into a runtime.
const PROVIDER_KEY = 'sk-provider-secret-never-in-runtimes';
process.env.OPENAI_API_KEY = PROVIDER_KEY;

const post = (who: SignedIn, url: string) => who.agent.post(url).set('X-CSRF-Token', who.csrfToken);
const inWorkspace = (username: string, script: string) => docker('exec', containerName(username), 'sh', '-c', script);
/** The gateway names its process "openclaw-gateway"; nothing else in the container does. */
const gatewayPid = (username: string) =>
  inWorkspace(username, 'for p in /proc/[0-9]*; do [ "$(tr "\\0" " " < $p/cmdline 2>/dev/null | cut -d" " -f1)" = "openclaw-gateway" ] && echo ${p#/proc/}; done; true');

describe('a user\'s runtime, on the real Docker daemon', () => {
  let test: TestPlatform;
  let admin: SignedIn;
  beforeAll(async () => {
    // Someone else's network already holds the first /28 of the pool: runtimes must move past it.
    docker('network', 'create', '--label', 'org.crewclaw.test=1', '--label', `org.crewclaw.platform=${PREFIX}`, '--subnet', subnetPlan(SUBNET_POOL, 0).subnet, `${PREFIX}-foreign`);
    test = startDockerPlatform();
    admin = await setupAdmin(test);
  });
  afterAll(() => {
    test.close();
    removeTestResources();
  });

  it('starts to running only once /healthz answers, and reports image, start time and usage', () =>
    printingLogsOnFailure(['admin'], async () => {
      await admin.agent.get('/api/runtime').expect(200).expect((response) => expect(response.body.runtime.state).toBe('absent'));
      const started = await post(admin, '/api/runtime/start');
      expect(started.body.error ?? null).toBeNull();
      expect(started.status).toBe(200);
      expect(started.body.runtime).toMatchObject({ state: 'running', image: 'crewclaw/runtime:dev', error: null });
      expect(Date.parse(started.body.runtime.startedAt)).toBeGreaterThan(Date.now() - 300_000);

      const ip = docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${PREFIX}-net-admin").IPAddress}}`, containerName('admin'));
      const health = (await (await fetch(`http://${ip}:18789/healthz`)).json()) as { ok: boolean };
      expect(health.ok).toBe(true);

      // Usage comes from the background sampler: the first read asks for it, one soon after has it.
      const usage = await until('usage figures', async () => {
        const { runtime } = (await admin.agent.get('/api/runtime').expect(200)).body;
        return runtime.memoryBytes === null ? undefined : runtime;
      }, 15_000);
      expect(usage.memoryBytes).toBeGreaterThan(50 * 1024 * 1024);
      expect(usage.memoryLimitBytes).toBe(2048 * 1024 * 1024);
    }));

  it('is hardened, unpublished and has no provider key in its environment or files', () =>
    printingLogsOnFailure(['admin'], () => {
      const inspect = JSON.parse(docker('inspect', containerName('admin')))[0];
      expect(inspect.HostConfig).toMatchObject({
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges:true'],
        Init: true,
        Privileged: false,
        PidsLimit: 512,
        Memory: 2048 * 1024 * 1024,
        NanoCpus: 2e9,
        RestartPolicy: { Name: 'unless-stopped' },
        NetworkMode: `${PREFIX}-net-admin`,
      });
      expect(inspect.HostConfig.PortBindings ?? {}).toEqual({});
      // No Docker health check: each one is a runc exec, the idle cost of every runtime (docs/benchmarks.md).
      expect(inspect.Config.Healthcheck.Test).toEqual(['NONE']);
      expect(JSON.stringify(inspect.Mounts)).not.toContain('docker.sock');
      expect(inspect.Config.User).toBe('1000:1000');
      expect(inspect.Config.Labels).toMatchObject({ 'org.crewclaw.user': 'admin', 'org.crewclaw.image': 'crewclaw/runtime:dev', 'traefik.enable': 'true' });
      expect(inspect.Config.Labels[`traefik.http.routers.${containerName('admin')}.rule`]).toBe('Path(`/u/admin`) || PathPrefix(`/u/admin/`)');

      const environment = (inspect.Config.Env as string[]).join('\n');
      expect(environment).not.toContain(PROVIDER_KEY);
      expect(environment).not.toMatch(/_API_KEY=/);
      const files = inWorkspace('admin', 'cat /home/node/.openclaw/openclaw.json; grep -rl "sk-provider" /home/node /tmp 2>/dev/null; env');
      expect(files).not.toContain(PROVIDER_KEY);
      expect(files).not.toMatch(/_API_KEY=/);
      const config = JSON.parse(inWorkspace('admin', 'cat /home/node/.openclaw/openclaw.json'));
      expect(config.gateway).toMatchObject({ mode: 'local', bind: 'lan', port: 18789, controlUi: { basePath: '/u/admin' }, auth: { mode: 'trusted-proxy' } });
      expect(config.models.providers.crewclaw.apiKey).toMatch(/^ccrt_/);
      // The gateway process itself does not carry the platform config in its environment.
      const pid = gatewayPid('admin');
      expect(pid).toMatch(/^\d+$/);
      const gatewayEnv = inWorkspace('admin', `tr "\\0" "\\n" < /proc/${pid}/environ`);
      expect(gatewayEnv).toContain('OPENCLAW_STATE_DIR');
      expect(gatewayEnv).not.toContain('CREWCLAW_OPENCLAW_CONFIG');
    }));

  it('keeps files in the volume across stop, start and restart', () =>
    printingLogsOnFailure(['admin'], async () => {
      inWorkspace('admin', 'echo kept > /home/node/.openclaw/workspace/note.txt');
      await post(admin, '/api/runtime/stop').expect(200).expect((response) => expect(response.body.runtime.state).toBe('stopped'));
      await post(admin, '/api/runtime/start').expect(200).expect((response) => expect(response.body.runtime.state).toBe('running'));
      expect(inWorkspace('admin', 'cat /home/node/.openclaw/workspace/note.txt')).toBe('kept');
      await post(admin, '/api/runtime/restart').expect(200).expect((response) => expect(response.body.runtime.state).toBe('running'));
      expect(inWorkspace('admin', 'cat /home/node/.openclaw/workspace/note.txt')).toBe('kept');
    }));

  it('recreates a container removed behind its back, with the same volume', () =>
    printingLogsOnFailure(['admin'], async () => {
      docker('rm', '-f', containerName('admin'));
      await admin.agent.get('/api/runtime').expect(200).expect((response) => expect(response.body.runtime.state).toBe('absent'));
      await post(admin, '/api/runtime/start').expect(200);
      expect(inWorkspace('admin', 'cat /home/node/.openclaw/workspace/note.txt')).toBe('kept');
    }));

  it('comes back to running when the gateway process is killed', () =>
    printingLogsOnFailure(['admin'], async () => {
      const before = Number(docker('inspect', '-f', '{{.RestartCount}}', containerName('admin')));
      inWorkspace('admin', `kill -9 ${gatewayPid('admin')}`);
      let state = '';
      for (let attempt = 0; attempt < 120 && state !== 'running'; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const restarts = Number(docker('inspect', '-f', '{{.RestartCount}}', containerName('admin')));
        if (restarts > before) state = (await admin.agent.get('/api/runtime').expect(200)).body.runtime.state;
      }
      expect(state).toBe('running');
    }));

  it('streams each step of a start with its time, and serves logs with secrets redacted', () =>
    printingLogsOnFailure(['admin'], async () => {
      await post(admin, '/api/runtime/stop').expect(200);
      // A real event-stream client on a real socket, reading until the start reports ready.
      const server = http.createServer(test.platform.app).listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      const { port } = server.address() as { port: number };
      const cookie = (admin.agent as unknown as { jar: { getCookies(access: object): { toValueString(): string }[] } }).jar
        .getCookies({ domain: '127.0.0.1', path: '/', secure: false, script: false })
        .map((entry) => entry.toValueString())
        .join('; ');
      const controller = new AbortController();
      const response = await fetch(`http://127.0.0.1:${port}/api/runtime/events`, { headers: { cookie }, signal: controller.signal });
      expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
      const steps: string[] = [];
      const reading = (async () => {
        const decoder = new TextDecoder();
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          for (const match of decoder.decode(chunk).matchAll(/"step":"([^"]+)"/g)) steps.push(match[1]!);
          if (steps.includes('ready')) break;
        }
      })().catch(() => undefined);
      await post(admin, '/api/runtime/start').expect(200);
      await Promise.race([reading, new Promise((resolve) => setTimeout(resolve, 5000))]);
      controller.abort();
      server.close();
      expect(steps).toEqual(expect.arrayContaining(['starting', 'waiting for health', 'ready']));

      const logs = await admin.agent.get('/api/runtime/logs?tail=50').expect(200).expect('Content-Type', /text\/plain/);
      expect(logs.text).toMatch(/gateway/);
      expect(logs.text).not.toMatch(/ccrt_[A-Za-z0-9_-]{20}/);
      await admin.agent.get('/api/runtime/logs?tail=abc').expect(400);
    }));

  it('makes one container for two simultaneous starts', () =>
    printingLogsOnFailure(['bob'], async () => {
      const bob = await createUser(test, admin, 'bob');
      const [first, second] = await Promise.all([post(bob, '/api/runtime/start'), post(bob, '/api/runtime/start')]);
      expect([first.status, second.status]).toEqual([200, 200]);
      const containers = docker('ps', '-aq', '--filter', `name=^${containerName('bob')}$`).split('\n').filter(Boolean);
      expect(containers).toHaveLength(1);
    }));

  it('applies new limits to a running runtime in place, without restarting it', () =>
    printingLogsOnFailure(['bob'], async () => {
      const before = docker('inspect', '-f', '{{.Id}} {{.State.StartedAt}}', containerName('bob'));
      await admin.agent
        .patch('/api/admin/runtimes/bob/limits')
        .set('X-CSRF-Token', admin.csrfToken)
        .send({ memoryMb: 1536, cpus: 1 })
        .expect(200)
        .expect((response) => expect(response.body.runtime).toMatchObject({ state: 'running', limits: { memoryMb: 1536, cpus: 1, custom: true } }));
      expect(docker('inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}}', containerName('bob'))).toBe(
        `${1536 * 2 ** 20} ${1536 * 2 ** 20} 1000000000`,
      );
      expect(docker('inspect', '-f', '{{.Id}} {{.State.StartedAt}}', containerName('bob'))).toBe(before);
      // Usage comes from the background sampler: the new limit shows within its next samples.
      await until(
        'usage to show the new memory limit',
        async () => ((await admin.agent.get('/api/admin/runtimes/bob').expect(200)).body.runtime.memoryLimitBytes === 1536 * 2 ** 20 ? true : undefined),
        20_000,
      );
    }));

  it('lets admins see and stop everyone\'s runtime, refuses other users, and audits it', () =>
    printingLogsOnFailure(['bob'], async () => {
      const carol = await createUser(test, admin, 'carol');
      await carol.agent.get('/api/admin/runtimes').expect(403);
      await post(carol, '/api/admin/runtimes/bob/stop').expect(403);
      const list = await admin.agent.get('/api/admin/runtimes').expect(200);
      const bobRow = list.body.runtimes.find((runtime: { username: string }) => runtime.username === 'bob');
      expect(bobRow.state).toBe('running');
      await post(admin, '/api/admin/runtimes/bob/stop').expect(200).expect((response) => expect(response.body.runtime.state).toBe('stopped'));
      await post(admin, '/api/admin/runtimes/nobody/stop').expect(404);
      const audit = test.database.sqlite.prepare("SELECT actor_name, action, target FROM audit_log WHERE action LIKE 'runtime.%' AND target = 'bob'").all();
      expect(audit).toEqual(expect.arrayContaining([{ actor_name: 'admin', action: 'runtime.stop', target: 'bob' }]));
    }));

  it('keeps the volume when an admin deletes a runtime, and removes it only on purge', () =>
    printingLogsOnFailure(['bob'], async () => {
      await admin.agent.delete('/api/admin/runtimes/bob').set('X-CSRF-Token', admin.csrfToken).expect(204);
      expect(docker('ps', '-aq', '--filter', `name=^${containerName('bob')}$`)).toBe('');
      expect(docker('volume', 'ls', '-q', '--filter', `name=^${PREFIX}-home-bob$`)).toBe(`${PREFIX}-home-bob`);
      await admin.agent.delete('/api/admin/runtimes/bob?purge=true').set('X-CSRF-Token', admin.csrfToken).expect(204);
      expect(docker('volume', 'ls', '-q', '--filter', `name=^${PREFIX}-home-bob$`)).toBe('');
    }));
});
