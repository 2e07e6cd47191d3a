import supertest from 'supertest';
import { PREFIX, SUBNET_POOL, containerName, docker, printingLogsOnFailure, removeTestResources } from './support/docker-platform';

jest.setTimeout(300_000);

const CONTROL_PLANE = `${PREFIX}-control-plane`;

/** The control plane as compose runs it: in its own container, driving Docker through the socket. */
describe('the control plane image, in a container', () => {
  let base: string;
  beforeAll(async () => {
    docker(
      'run', '-d', '--name', CONTROL_PLANE, '--init',
      '--label', 'org.crewclaw.test=1', '--label', `org.crewclaw.platform=${PREFIX}`,
      '-v', '/var/run/docker.sock:/var/run/docker.sock', '-p', '127.0.0.1::3000',
      '-e', `CONTROL_PLANE_CONTAINER=${CONTROL_PLANE}`, '-e', `RUNTIME_NAME_PREFIX=${PREFIX}`, '-e', `RUNTIME_SUBNET_POOL=${SUBNET_POOL}`,
      'crewclaw/control-plane:dev',
    );
    const port = docker('port', CONTROL_PLANE, '3000').split('\n')[0]!.split(':').pop();
    base = `http://127.0.0.1:${port}`;
    for (let attempt = 0; attempt < 120; attempt += 1) {
      // docker-proxy accepts connections before the server listens: never wait on one for long.
      if (await fetch(`${base}/api/ready`, { signal: AbortSignal.timeout(2000) }).then((response) => response.ok, () => false)) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`the control plane did not get ready:\n${docker('logs', CONTROL_PLANE)}`);
  });
  afterAll(() => removeTestResources());

  it('joins the user network at its fixed address and brings the runtime to running', () =>
    printingLogsOnFailure(['owner'], async () => {
      const agent = supertest.agent(base);
      const setup = await agent.post('/api/setup').send({ username: 'owner', password: 'owner-password' }).expect(201);
      const started = await agent.post('/api/runtime/start').set('X-CSRF-Token', setup.body.csrfToken);
      expect(started.body.error ?? null).toBeNull();
      expect(started.body.runtime.state).toBe('running');

      const network = `${PREFIX}-net-owner`;
      const joined = JSON.parse(docker('inspect', '-f', '{{json .NetworkSettings.Networks}}', CONTROL_PLANE))[network];
      expect(joined.IPAddress).toMatch(/\.3$/);
      expect(joined.Aliases).toContain('control-plane');
      // From inside the runtime, the platform is reachable by name, as the model endpoint will be.
      const answer = docker('exec', containerName('owner'), 'node', '-e', "fetch('http://control-plane:3000/api/health').then(async (r) => console.log(r.status, await r.text()))");
      expect(answer).toBe('200 {"status":"ok"}');
    }));
});
