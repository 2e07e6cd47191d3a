/**
 * The ACME harness on its own (support/pebble.ts), without our stack: a throwaway Traefik container gets a
 * certificate for crew.test from Pebble over a real TLS-ALPN-01 challenge (Pebble dials Traefik's published
 * HTTPS port), and the host then verifies that certificate against Pebble's issuing root.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { PREFIX, TEST_LABEL, docker, freePort } from './support/docker-platform';
import { startPebble, type PebbleServer } from './support/pebble';

jest.setTimeout(180_000);

const TRAEFIK_IMAGE = process.env.CREWCLAW_TEST_TRAEFIK_IMAGE ?? 'traefik:v3.6.12';
/** Own name prefix; the platform label is the run's, so global-teardown.ts removes a leftover. */
const NAME = `ccpebble${process.pid}`;
const TRAEFIK = `${NAME}-traefik`;
const DOMAIN = 'crew.test';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Answer {
  status: number;
  body: string;
  subjectAltName: string;
  issuer: string;
}

/** GET https://localhost:<port>/ping with SNI crew.test, trusting only `ca`: fails unless the certificate verifies. */
function getWithSni(port: number, ca: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      { host: 'localhost', port, path: '/ping', servername: DOMAIN, headers: { Host: DOMAIN }, ca, timeout: 5_000, agent: false },
      (response) => {
        const certificate = (response.socket as TLSSocket).getPeerCertificate();
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            subjectAltName: certificate.subjectaltname ?? '',
            issuer: String(certificate.issuer?.CN ?? ''),
          }),
        );
      },
    );
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
    request.end();
  });
}

function removeTraefik(): void {
  try {
    docker('rm', '-f', TRAEFIK);
  } catch {
    // not there
  }
}

/** Traefik with one router for crew.test whose certificate comes from `pebble`, its HTTPS entrypoint on host port `port`. */
function startTraefik(pebble: PebbleServer, port: number, dir: string): void {
  removeTraefik();
  fs.writeFileSync(
    path.join(dir, 'dynamic.yml'),
    [
      'http:',
      '  routers:',
      '    crew:',
      `      rule: Host(\`${DOMAIN}\`)`,
      '      entryPoints: [websecure]',
      '      service: ping@internal',
      '      tls:',
      '        certResolver: pebble',
      '',
    ].join('\n'),
  );
  docker(
    'run', '-d', '--name', TRAEFIK,
    '--label', `${TEST_LABEL}=1`, '--label', `org.crewclaw.platform=${PREFIX}`,
    '--add-host', 'host.docker.internal:host-gateway',
    '-p', `127.0.0.1:${port}:8443`,
    '-v', `${dir}/dynamic.yml:/etc/crewclaw/dynamic.yml:ro`,
    '-v', `${pebble.listenerCaFile}:/etc/crewclaw/pebble-ca.pem:ro`,
    '-e', 'LEGO_CA_CERTIFICATES=/etc/crewclaw/pebble-ca.pem',
    '-e', `LEGO_CA_SERVER_NAME=${pebble.listenerServerName}`,
    // The locally built image is FROM scratch: no /tmp to keep acme.json in.
    '--tmpfs', '/acme',
    TRAEFIK_IMAGE,
    '--log.level=DEBUG',
    '--entrypoints.websecure.address=:8443',
    '--providers.file.filename=/etc/crewclaw/dynamic.yml',
    '--ping=true',
    '--ping.manualrouting=true',
    `--certificatesresolvers.pebble.acme.caServer=${pebble.directoryUrlForContainers}`,
    '--certificatesresolvers.pebble.acme.tlsChallenge=true',
    '--certificatesresolvers.pebble.acme.storage=/acme/acme.json',
    `--certificatesresolvers.pebble.acme.email=admin@${DOMAIN}`,
  );
}

async function until<T>(timeoutMs: number, probe: () => Promise<T | undefined>): Promise<{ value?: T; last?: unknown }> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return { value };
    } catch (error) {
      last = error;
    }
    await sleep(500);
  }
  return { last };
}

function traefikLogs(): string {
  const result = spawnSync('docker', ['logs', '--tail', '80', TRAEFIK], { encoding: 'utf8' });
  return `${result.stdout}${result.stderr}`;
}

describe('the Pebble harness', () => {
  let pebble: PebbleServer | undefined;
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `${NAME}-`));
    fs.chmodSync(dir, 0o755);
  });

  afterEach(async () => {
    removeTraefik();
    await pebble?.stop();
    pebble = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `body`, printing Pebble's and Traefik's logs when it fails. */
  async function printingLogsOnFailure(body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (error) {
      console.error(`--- pebble ---\n${pebble?.logs() ?? '(not started)'}\n--- ${TRAEFIK} ---\n${traefikLogs()}`);
      throw error;
    }
  }

  it("lets Traefik in a container get a certificate over TLS-ALPN-01 that verifies against Pebble's root", async () => {
    const tlsPort = await freePort('127.0.0.1');
    const started = Date.now();
    pebble = await startPebble({ tlsPort });
    const server = pebble;
    await printingLogsOnFailure(async () => {
      const issuerRoot = await server.issuerRootPem();
      expect(issuerRoot).toMatch(/^-----BEGIN CERTIFICATE-----/);
      console.log(`pebble ready in ${Date.now() - started} ms`);
      startTraefik(server, tlsPort, dir);

      // Until the order is done Traefik serves its default certificate, which fails verification.
      const { value: answer, last } = await until(60_000, () => getWithSni(tlsPort, issuerRoot));
      console.log(`certificate served ${Date.now() - started} ms after Pebble was started`);
      expect(answer ?? String(last)).toMatchObject({ status: 200, body: 'OK' });
      expect(answer?.subjectAltName).toContain(`DNS:${DOMAIN}`);
      expect(answer?.issuer).toMatch(/^Pebble Intermediate CA/);
      expect(server.logs()).toMatch(/authz \S+ set VALID by completed challenge/);
      expect(server.logs()).not.toMatch(/Skipping real validation/);
    });
  });

  it('validates for real: with nothing answering on the port Pebble dials, the authorization fails', async () => {
    // Pebble dials one port, Traefik is published on another.
    const unusedPort = await freePort('127.0.0.1');
    const traefikPort = await freePort('127.0.0.1');
    pebble = await startPebble({ tlsPort: unusedPort });
    const server = pebble;
    await printingLogsOnFailure(async () => {
      const issuerRoot = await server.issuerRootPem();
      startTraefik(server, traefikPort, dir);
      const { value: failed } = await until(30_000, () => Promise.resolve(/authz \S+ set INVALID/.test(server.logs()) || undefined));
      expect(failed).toBe(true);
      await expect(getWithSni(traefikPort, issuerRoot)).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
    });
  });
});
