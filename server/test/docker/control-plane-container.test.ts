import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import supertest from 'supertest';
import { PREFIX, SUBNET_POOL, containerName, docker, printingLogsOnFailure, removeTestResources } from './support/docker-platform';

jest.setTimeout(300_000);

const CONTROL_PLANE = `${PREFIX}-control-plane`;

/** The control plane as compose runs it: in its own container, driving Docker through the socket. */
describe('the control plane image, in a container', () => {
  let base: string;
  let agent: ReturnType<typeof supertest.agent>;
  let csrfToken: string;
  let cookie: string;
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
    let ready = false;
    for (let attempt = 0; attempt < 120 && !ready; attempt += 1) {
      // docker-proxy accepts connections before the server listens: never wait on one for long.
      ready = await fetch(`${base}/api/ready`, { signal: AbortSignal.timeout(2000) }).then((response) => response.ok, () => false);
      if (!ready) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    if (!ready) throw new Error(`the control plane did not get ready:\n${docker('logs', CONTROL_PLANE)}`);
    // The first account, signed in; each test below starts from here and stands on its own.
    agent = supertest.agent(base);
    const setup = await agent.post('/api/setup').send({ username: 'owner', password: 'owner-password' }).expect(201);
    csrfToken = setup.body.csrfToken as string;
    cookie = (setup.headers['set-cookie'] as unknown as string[]).map((line) => line.split(';')[0]).join('; ');
  });
  afterAll(() => removeTestResources());

  it('joins the user network at its fixed address and brings the runtime to running', () =>
    printingLogsOnFailure(['owner'], async () => {
      const started = await agent.post('/api/runtime/start').set('X-CSRF-Token', csrfToken);
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

  // Uploads, downloads and zips travel over the data channel: a TCP connection from the control plane
  // to the runtime on the user's network. Here it starts from the control plane's own container, as
  // in a compose deployment, not from the host as in the other Docker tests. (Run alone, the first
  // files call starts the runtime: the files API starts a stopped runtime itself.)
  it('moves files in and out over the data channel from its container', () =>
    printingLogsOnFailure(['owner'], async () => {
      const content = randomBytes(3 * 1024 * 1024 + 7);
      const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
      const uploaded = await agent
        .post('/api/files/upload?path=&name=inbox/report.bin')
        .set('X-CSRF-Token', csrfToken)
        .set('Content-Type', 'application/octet-stream')
        .send(content)
        .expect(201);
      expect(uploaded.body.files).toEqual([{ path: 'inbox/report.bin', size: content.length }]);
      const bytesOf = async (url: string) => {
        const response = await fetch(`${base}${url}`, { headers: { cookie } });
        expect(response.status).toBe(200);
        return Buffer.from(await response.arrayBuffer());
      };
      expect(sha256(await bytesOf('/api/files/content?path=inbox/report.bin'))).toBe(sha256(content));
      const zip = await bytesOf('/api/files/archive?path=inbox');
      const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'crewclaw-zip-'));
      try {
        fs.writeFileSync(path.join(scratch, 'inbox.zip'), zip);
        // Python's zipfile checks every entry's CRC-32 while it extracts.
        execFileSync('python3', ['-m', 'zipfile', '-e', path.join(scratch, 'inbox.zip'), path.join(scratch, 'out')]);
        expect(sha256(fs.readFileSync(path.join(scratch, 'out/inbox/report.bin')))).toBe(sha256(content));
      } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
      }
    }));
});

