/**
 * HTTPS on the entry layer, as compose runs it: CREWCLAW_TLS=file with the admin's own certificate
 * (one from a CA made here), HTTP sent on to HTTPS, Secure cookies, and a real OpenClaw Control UI on
 * the runtime origin over TLS; and CREWCLAW_TLS=acme, Traefik's own ACME client getting its
 * certificate from Pebble (Let's Encrypt's test server) with a real TLS-ALPN-01 validation. Every
 * request verifies the certificate against the one CA it should come from.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { ADMIN } from '../integration/support/test-platform';
import { type ComposeStack, httpsRequest, stackPorts, until, upComposeStack } from './support/compose-stack';
import { type PebbleServer, startPebble } from './support/pebble';
import { PREFIX, containerName, docker } from './support/docker-platform';

jest.setTimeout(600_000);

/** A CA, and a certificate it signed for `names`, as an admin would put them in CREWCLAW_TLS_CERT_DIR. */
function makeCertificates(names = ['DNS:localhost', 'IP:127.0.0.1']): { dir: string; ca: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crewclaw-tls-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=CrewClaw test CA');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'leaf.csr', '-subj', '/CN=localhost');
  fs.writeFileSync(path.join(dir, 'san.ext'), `subjectAltName=${names.join(',')}\n`);
  run('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'cert.pem', '-days', '2', '-extfile', 'san.ext');
  // Traefik reads it as its own unprivileged user.
  fs.chmodSync(path.join(dir, 'key.pem'), 0o644);
  fs.chmodSync(dir, 0o755);
  return { dir, ca: fs.readFileSync(path.join(dir, 'ca.crt'), 'utf8') };
}

describe('HTTPS with the admin’s certificate (CREWCLAW_TLS=file)', () => {
  let stack: ComposeStack;
  let certificates: { dir: string; ca: string };
  let platformUrl: string;
  let runtimeUrl: string;
  let cookie: string;
  let csrfToken: string;

  const request = (url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
    httpsRequest(url, { ca: certificates.ca, ...options });

  beforeAll(async () => {
    certificates = makeCertificates();
    const ports = await stackPorts();
    platformUrl = `https://localhost:${ports.https}`;
    runtimeUrl = `https://localhost:${ports.runtime}`;
    stack = upComposeStack(ports, { CREWCLAW_TLS: 'file', CREWCLAW_TLS_CERT_DIR: certificates.dir, PUBLIC_URL: platformUrl, RUNTIME_URL: runtimeUrl });
  });

  afterAll(() => {
    stack?.down();
    if (certificates) fs.rmSync(certificates.dir, { recursive: true, force: true });
  });

  it('serves the platform over HTTPS with that certificate, and its sign-in cookie is Secure', async () => {
    const health = await request(`${platformUrl}/api/health`);
    expect(health.status).toBe(200);
    expect(health.subjectAltName).toContain('DNS:localhost');
    const setup = await request(`${platformUrl}/api/setup`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(ADMIN) });
    expect(setup.status).toBe(201);
    const login = await request(`${platformUrl}/api/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(ADMIN) });
    expect(login.status).toBe(200);
    const setCookie = [login.headers['set-cookie'] ?? []].flat();
    expect(setCookie.length).toBeGreaterThan(0);
    // Secure, and named __Host- so that no other host (the runtime origin is the same name's other port) can plant one.
    for (const line of setCookie) expect(line).toMatch(/^__Host-crewclaw\.sid=[^;]+; Path=\/;.*;\s*Secure/i);
    for (const line of setCookie) expect(line).not.toMatch(/Domain=/i);
    cookie = setCookie.map((line) => line.split(';')[0]).join('; ');
    csrfToken = (JSON.parse(login.body) as { csrfToken: string }).csrfToken;
  });

  it('sends plain HTTP on to the HTTPS address, path and query kept', async () => {
    const response = await fetch(`http://localhost:${stack.ports.http}/some/page?tab=files`, { redirect: 'manual' });
    expect(response.status).toBe(301);
    expect(response.headers.get('location')).toBe(`${platformUrl}/some/page?tab=files`);
  });

  it("opens the Control UI on the runtime origin over HTTPS, and nothing there over plain HTTP", async () => {
    const started = await request(`${platformUrl}/api/runtime/start`, { method: 'POST', headers: { Cookie: cookie, 'X-CSRF-Token': csrfToken } });
    expect(started.status).toBe(200);
    const labels = JSON.parse(docker('inspect', '-f', '{{json .Config.Labels}}', containerName(ADMIN.username))) as Record<string, string>;
    expect(labels[`traefik.http.routers.${containerName(ADMIN.username)}.tls`]).toBe('true');
    const body = await until(
      'the Control UI over HTTPS',
      async () => {
        const page = await request(`${runtimeUrl}/u/${ADMIN.username}/`, { headers: { Cookie: cookie, Accept: 'text/html' } });
        return page.status === 200 && /openclaw/i.test(page.body) ? page.body : null;
      },
      60_000,
    );
    expect(body).toMatch(/openclaw/i);
    const plain = await fetch(`http://localhost:${stack.ports.runtime}/u/${ADMIN.username}/`, { headers: { Cookie: cookie, Accept: 'text/html' }, redirect: 'manual' });
    expect(plain.status).not.toBe(200);
    expect(await plain.text()).not.toMatch(/openclaw/i);
  });
});

describe('per-user host names over HTTPS (RUNTIME_URL=https://*.crew.test, a wildcard certificate)', () => {
  const DOMAIN = 'crew.test';
  let stack: ComposeStack;
  let certificates: { dir: string; ca: string };
  let https: number;

  /** A request to `host` (crew.test or a subdomain) on this machine: no DNS, the name in SNI and Host. */
  const at = (host: string, pathAndQuery: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
    httpsRequest(`https://127.0.0.1:${https}${pathAndQuery}`, { ca: certificates.ca, servername: host, ...options, headers: { Host: `${host}:${https}`, ...options.headers } });

  beforeAll(async () => {
    certificates = makeCertificates([`DNS:${DOMAIN}`, `DNS:*.${DOMAIN}`]);
    const ports = await stackPorts();
    https = ports.https;
    stack = upComposeStack(ports, {
      CREWCLAW_TLS: 'file',
      CREWCLAW_TLS_CERT_DIR: certificates.dir,
      PUBLIC_URL: `https://${DOMAIN}:${https}`,
      RUNTIME_URL: `https://*.${DOMAIN}:${https}`,
    });
  });

  afterAll(() => {
    stack?.down();
    if (certificates) fs.rmSync(certificates.dir, { recursive: true, force: true });
  });

  it('signs in on the platform, hands over to the user’s own host and serves the Control UI there, all on one port', async () => {
    const json = { 'Content-Type': 'application/json' };
    expect((await at(DOMAIN, '/api/setup', { method: 'POST', headers: json, body: JSON.stringify(ADMIN) })).status).toBe(201);
    const login = await at(DOMAIN, '/api/auth/login', { method: 'POST', headers: json, body: JSON.stringify(ADMIN) });
    expect(login.status).toBe(200);
    const sessionCookie = [login.headers['set-cookie'] ?? []].flat().map((line) => line.split(';')[0]).join('; ');
    expect(sessionCookie).toMatch(/^__Host-crewclaw\.sid=/);
    const { csrfToken } = JSON.parse(login.body) as { csrfToken: string };
    expect((await at(DOMAIN, '/api/runtime/start', { method: 'POST', headers: { Cookie: sessionCookie, 'X-CSRF-Token': csrfToken } })).status).toBe(200);

    const host = `${ADMIN.username}.${DOMAIN}`;
    const start = await at(DOMAIN, `/api/auth/runtime-sign-in?next=${encodeURIComponent(`/u/${ADMIN.username}/`)}`, { headers: { Cookie: sessionCookie } });
    expect(start.status).toBe(302);
    const signIn = new URL(String(start.headers.location));
    expect(signIn.origin).toBe(`https://${host}:${https}`);
    // Through Traefik: the runtime is routed by host (or not yet, and the fallback redeems the code instead).
    const redeemed = await at(host, signIn.pathname + signIn.search, { headers: { Accept: 'text/html' } });
    expect(redeemed.subjectAltName).toContain(`DNS:*.${DOMAIN}`);
    expect([redeemed.status, redeemed.headers.location]).toEqual([302, `https://${host}:${https}/`]);
    const [hostCookie] = [redeemed.headers['set-cookie'] ?? []].flat();
    expect(hostCookie).toMatch(/^__Host-crewclaw\.runtime=[^;]+;.*Secure/);
    expect(hostCookie).not.toMatch(/Domain=/i);

    const cookie = String(hostCookie).split(';')[0] ?? '';
    const body = await until(
      'the Control UI on the user’s own host',
      async () => {
        const page = await at(host, '/', { headers: { Cookie: cookie, Accept: 'text/html' } });
        return page.status === 200 && /openclaw/i.test(page.body) ? page.body : null;
      },
      60_000,
    );
    expect(body).toMatch(/openclaw/i);
    // The platform's own cookie opens nothing there.
    const withPlatformCookie = await at(host, '/', { headers: { Cookie: sessionCookie, Accept: 'application/json' } });
    expect(withPlatformCookie.status).toBe(401);
  });

  it('sends plain HTTP to a runtime’s host on to that same host over HTTPS', async () => {
    // fetch() will not send another Host: a plain request does.
    const answer = await new Promise<{ status?: number; location?: string }>((resolve, reject) =>
      http
        .get({ host: '127.0.0.1', port: stack.ports.http, path: '/chat?session=main', headers: { Host: `${ADMIN.username}.${DOMAIN}` } }, (response) => {
          response.resume();
          resolve({ status: response.statusCode, location: response.headers.location });
        })
        .on('error', reject),
    );
    expect(answer).toEqual({ status: 301, location: `https://${ADMIN.username}.${DOMAIN}:${https}/chat?session=main` });
  });
});

describe("HTTPS with a certificate from an ACME server (CREWCLAW_TLS=acme, Pebble standing in for Let's Encrypt)", () => {
  const DOMAIN = 'crew.test';
  let pebble: PebbleServer;
  let stack: ComposeStack;
  let overrideDir: string;

  beforeAll(async () => {
    const ports = await stackPorts();
    // Pebble validates the TLS-ALPN-01 challenge on the published HTTPS port, crew.test resolving to 127.0.0.1.
    pebble = await startPebble({ tlsPort: ports.https });
    // What only the test needs: Traefik reaching Pebble on the host, and trusting Pebble's own listener.
    overrideDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crewclaw-acme-'));
    const override = path.join(overrideDir, 'pebble.yaml');
    fs.writeFileSync(
      override,
      [
        'services:',
        '  proxy:',
        '    extra_hosts: ["host.docker.internal:host-gateway"]',
        '    environment:',
        '      LEGO_CA_CERTIFICATES: /etc/crewclaw/pebble-ca.pem',
        `      LEGO_CA_SERVER_NAME: ${pebble.listenerServerName}`,
        '    volumes:',
        `      - ${pebble.listenerCaFile}:/etc/crewclaw/pebble-ca.pem:ro`,
        '',
      ].join('\n'),
    );
    stack = upComposeStack(
      ports,
      {
        CREWCLAW_TLS: 'acme',
        CREWCLAW_ACME_CA_SERVER: pebble.directoryUrlForContainers,
        CREWCLAW_ACME_EMAIL: `admin@${DOMAIN}`,
        PUBLIC_URL: `https://${DOMAIN}:${ports.https}`,
        RUNTIME_URL: `https://${DOMAIN}:${ports.runtime}`,
      },
      [override],
    );
  });

  afterAll(async () => {
    stack?.down();
    await pebble?.stop();
    if (overrideDir) fs.rmSync(overrideDir, { recursive: true, force: true });
  });

  it('gets a certificate for the domain from the ACME server, serves it, and keeps it in its volume', async () => {
    const issuerRoot = await pebble.issuerRootPem();
    const health = await until(
      'a certificate from Pebble on the HTTPS port',
      async () => {
        const answer = await httpsRequest(`https://127.0.0.1:${stack.ports.https}/api/health`, { ca: issuerRoot, servername: DOMAIN });
        return answer.status === 200 ? answer : null;
      },
      120_000,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n--- Pebble ---\n${pebble.logs()}\n--- proxy ---\n${stack.compose('logs', '--no-color', '--tail', '30', 'proxy')}`, { cause: error });
    });
    expect(health.subjectAltName).toContain(`DNS:${DOMAIN}`);
    // The runtime origin is served with it too (same name, another port).
    const runtimeOrigin = await httpsRequest(`https://127.0.0.1:${stack.ports.runtime}/`, { ca: issuerRoot, servername: DOMAIN, headers: { Accept: 'text/html' } });
    expect(runtimeOrigin.subjectAltName).toContain(`DNS:${DOMAIN}`);
    expect(runtimeOrigin.status).toBe(302);
    // Kept across restarts: Let's Encrypt limits how often it issues the same certificate.
    const stored = docker('run', '--rm', '--network', 'none', '-v', `${PREFIX}_crewclaw-acme:/acme:ro`, '--entrypoint', 'sh', 'crewclaw/control-plane:dev', '-c', 'cat /acme/acme.json');
    const certificates = (JSON.parse(stored) as { acme: { Certificates: { domain: { main: string } }[] } }).acme.Certificates;
    expect(certificates.map((certificate) => certificate.domain.main)).toContain(DOMAIN);
  });
});
