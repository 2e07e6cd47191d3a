/**
 * The entry layer as users run it: compose.yaml brought up by `docker compose` (Traefik and the control
 * plane's image, a project of this test's own on free ports), and a real OpenClaw runtime reached
 * through Traefik on the runtime origin, behind the control plane's forward-auth.
 */
import { execFileSync, spawn } from 'node:child_process';
import { ADMIN } from '../integration/support/test-platform';
import { BOB, type ComposeStack, type Session, call, controlUiLoads, page, setUpUsers, signIn, upHttpStack } from './support/compose-stack';
import { PREFIX, RUNTIME_IMAGE, docker } from './support/docker-platform';

jest.setTimeout(600_000);

const PROXY = `${PREFIX}-proxy`;
const CONTROL_PLANE = `${PREFIX}-control-plane`;

describe('the entry layer: Traefik in front, as compose runs it', () => {
  let stack: ComposeStack;
  let platformUrl: string;
  let runtimeUrl: string;
  let admin: Session;
  let bob: Session;

  beforeAll(async () => {
    ({ stack, platformUrl, runtimeUrl } = await upHttpStack());
    ({ admin, bob } = await setUpUsers(platformUrl));
  });

  afterAll(() => stack?.down());

  it('publishes ports only on Traefik, which runs unprivileged, read-only, with the socket read-only', () => {
    const controlPlane = JSON.parse(docker('inspect', CONTROL_PLANE))[0];
    expect(controlPlane.HostConfig.PortBindings ?? {}).toEqual({});
    const proxy = JSON.parse(docker('inspect', PROXY))[0];
    expect(Object.keys(proxy.HostConfig.PortBindings).sort()).toEqual(['8080/tcp', '8081/tcp', '8443/tcp']);
    expect(proxy.Config.User).toBe('65532:65532');
    expect(proxy.HostConfig).toMatchObject({ ReadonlyRootfs: true, CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges:true'] });
    expect(proxy.Mounts.find((mount: { Destination: string }) => mount.Destination === '/var/run/docker.sock')).toMatchObject({ RW: false });
    expect(proxy.State.Health.Status).toBe('healthy');
  });

  it("opens a signed-in user's Control UI on the runtime origin, the runtime joined at .2 by Traefik", async () => {
    const started = await call(`${platformUrl}/api/runtime/start`, { method: 'POST', session: admin });
    const body = (await started.json()) as { runtime: { state: string; controlUiUrl: string } };
    expect([started.status, body.runtime.state]).toEqual([200, 'running']);
    expect(body.runtime.controlUiUrl).toBe(`${runtimeUrl}/u/admin/`);
    const networks = JSON.parse(docker('inspect', '-f', '{{json .NetworkSettings.Networks}}', PROXY)) as Record<string, { IPAddress: string }>;
    expect(networks[`${PREFIX}-net-admin`]?.IPAddress).toMatch(/\.2$/);
    await controlUiLoads(runtimeUrl, admin, ADMIN.username);
  });

  it('sends a signed-out visitor to sign in on the platform, and back', async () => {
    const response = await page(`${runtimeUrl}/u/admin/chat?session=main`);
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(`${platformUrl}/?next=${encodeURIComponent('/u/admin/chat?session=main')}`);
    // A script's request (not a page load) gets a plain 401.
    expect((await call(`${runtimeUrl}/u/admin/`, { headers: { Accept: 'application/json' } })).status).toBe(401);
  });

  it("never shows another user's runtime, nor the platform's API on the runtime origin", async () => {
    const other = await page(`${runtimeUrl}/u/admin/`, bob);
    expect(other.status).toBe(404);
    expect(await other.text()).not.toMatch(/openclaw/i);
    for (const url of [`${runtimeUrl}/api/me`, `${runtimeUrl}/`, `${runtimeUrl}/u/nobody/`]) {
      const response = await call(url, { session: admin });
      expect([url, response.status]).toEqual([url, 404]);
    }
    // On the platform's origin, /u/<user> is never routed to a runtime: a link there is sent to the runtime origin.
    const moved = await page(`${platformUrl}/u/admin/chat?session=main`, admin);
    expect([moved.status, moved.headers.get('location')]).toEqual([302, `${runtimeUrl}/u/admin/chat?session=main`]);
  });

  it("overwrites a client's X-Forwarded-User, and refuses it without a session", async () => {
    // Signed in as admin but claiming bob: the runtime (which allows admin only) still gets admin.
    expect((await page(`${runtimeUrl}/u/admin/`, admin, { 'X-Forwarded-User': 'bob' })).status).toBe(200);
    const anonymous = await call(`${runtimeUrl}/u/admin/`, { headers: { Accept: 'application/json', 'X-Forwarded-User': 'admin' } });
    expect(anonymous.status).toBe(401);
  });

  it('hands the runtime neither the platform\'s cookie nor a client\'s X-Forwarded-User', async () => {
    // What reaches the gateway, read off the wire inside the runtime's network namespace (a packet
    // socket from the host, which needs root): the request exactly as Traefik sent it.
    const pid = docker('inspect', '-f', '{{.State.Pid}}', `${PREFIX}-rt-admin`);
    const sniffer = `import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(3)); s.settimeout(0.2); end = time.time() + 4; out = b''
sys.stderr.write('listening\\n'); sys.stderr.flush()
while time.time() < end:
    try: out += s.recv(65535)
    except socket.timeout: pass
sys.stdout.buffer.write(out)`;
    const capture = spawn('nsenter', ['-t', pid, '-n', 'python3', '-c', sniffer]);
    const chunks: Buffer[] = [];
    capture.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    const done = new Promise((resolve) => capture.on('close', resolve));
    // Not a fixed wait: on a busy host Python may take longer than a second to open its socket.
    await new Promise((resolve) => capture.stderr.on('data', (chunk: Buffer) => chunk.toString().includes('listening') && resolve(undefined)));
    const response = await page(`${runtimeUrl}/u/admin/?probe=wire-check`, admin, { 'X-Forwarded-User': 'bob' });
    expect(response.status).toBe(200);
    await done;
    const wire = Buffer.concat(chunks).toString('latin1');
    const at = wire.indexOf('GET /u/admin/?probe=wire-check');
    expect(at).toBeGreaterThanOrEqual(0);
    const head = wire.slice(at, wire.indexOf('\r\n\r\n', at));
    expect(head).not.toMatch(/^cookie:/im);
    expect(head.match(/^x-forwarded-user:.*$/gim)).toEqual(['X-Forwarded-User: admin']);
  });

  it("refuses the platform's API to a page on the runtime origin", async () => {
    // What a page the agent wrote could send: the browser adds the cookie (same site) and its Origin.
    const changed = await call(`${platformUrl}/api/users`, {
      method: 'POST',
      session: admin,
      headers: { 'Content-Type': 'application/json', Origin: runtimeUrl },
      body: JSON.stringify({ username: 'mallory', password: 'mallory-password-1', role: 'admin' }),
    });
    expect(changed.status).toBe(403);
    expect(((await changed.json()) as { error: { code: string } }).error.code).toBe('csrf_invalid');
  });

  it('believes X-Forwarded-For from Traefik only', async () => {
    await signIn(platformUrl, BOB.username, BOB.password, { 'X-Forwarded-For': '203.0.113.9' });
    const audit = await call(`${platformUrl}/api/audit?limit=5`, { session: admin });
    const entries = ((await audit.json()) as { entries: { action: string; ip: string | null }[] }).entries;
    const login = entries.find((entry) => entry.action.includes('login'));
    const gateway = docker('network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', `${PREFIX}_default`);
    // The client as Traefik saw it (the published port's docker-proxy, on the bridge's gateway),
    // neither what the client claimed nor Traefik's own address.
    expect(login?.ip).toBe(gateway);

    // Another container on the same network, talking to the control plane directly, is not believed.
    const script = `fetch('http://control-plane:3000/api/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': '203.0.113.10' },
      body: JSON.stringify({ username: 'bob', password: 'wrong-password' }) }).then((r) => console.log(r.status))`;
    const neighbour = `${PREFIX}-neighbour`;
    docker('create', '--name', neighbour, '--label', `org.crewclaw.platform=${PREFIX}`, '--network', `${PREFIX}_default`, '--entrypoint', 'sh', RUNTIME_IMAGE, '-c', `hostname -i; node -e "${script.replace(/"/g, '\\"')}"`);
    const [neighbourIp, status] = execFileSync('docker', ['start', '-a', neighbour], { encoding: 'utf8' }).trim().split('\n');
    docker('rm', neighbour);
    expect(status).toBe('401');
    const failures = ((await (await call(`${platformUrl}/api/audit?limit=5`, { session: admin })).json()) as { entries: { action: string; result: string; ip: string | null }[] }).entries;
    expect(failures.find((entry) => entry.action === 'auth.login' && entry.result === 'failure')?.ip).toBe(neighbourIp);
  });

  it('reaches running runtimes again soon after Traefik itself is recreated', async () => {
    stack.compose('up', '-d', '--no-build', '--no-deps', '--force-recreate', '--wait', 'proxy');
    await controlUiLoads(runtimeUrl, admin, ADMIN.username);
  });

  it('lets a runtime reach the model endpoint with its own token, and nothing else of the platform', async () => {
    expect((await call(`${platformUrl}/api/runtime/start`, { method: 'POST', session: admin })).status).toBe(200);
    const runtime = `${PREFIX}-rt-${ADMIN.username}`;
    // What the agent could run inside its container: requests to the control plane on the user's network.
    // Directly, and through Traefik, which is on the runtime's network too (its platform entrypoint).
    const script = `const token = JSON.parse(process.env.CREWCLAW_OPENCLAW_CONFIG).models.providers.crewclaw.apiKey;
      const ask = (url, key) => fetch(url, { headers: key ? { Authorization: 'Bearer ' + key } : {} }).then((r) => r.status);
      const direct = 'http://control-plane:3000', viaProxy = 'http://proxy:8080';
      Promise.all([ask(direct + '/api/health'), ask(direct + '/api/me'), ask(direct + '/'), ask(viaProxy + '/api/health'), ask(viaProxy + '/'),
        ask(direct + '/v1/models'), ask(direct + '/v1/models', token)]).then((s) => console.log(s.join(' ')));`;
    const statuses = execFileSync('docker', ['exec', runtime, 'node', '-e', script], { encoding: 'utf8' }).trim();
    // The platform's API and web UI: not there, either way. The model endpoint: there, refusing no key,
    // and with the runtime's token listing the user's models (none set up here).
    expect(statuses).toBe('404 404 404 404 404 401 200');
  });

  it('lets nothing through while the control plane is down', async () => {
    docker('stop', '-t', '2', CONTROL_PLANE);
    try {
      const response = await page(`${runtimeUrl}/u/admin/`, admin);
      expect(response.status).not.toBe(200);
      expect(await response.text()).not.toMatch(/openclaw/i);
    } finally {
      docker('start', CONTROL_PLANE);
    }
  });
});
