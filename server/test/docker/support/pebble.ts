/**
 * Pebble, Let's Encrypt's test ACME server, run as child processes of the test so Traefik (in a
 * container) can get a real certificate over a real TLS-ALPN-01 challenge:
 *
 *   Traefik --ACME over HTTPS--> Pebble, on 0.0.0.0:<acme port>, reached as host.docker.internal
 *   Pebble  --DNS (TCP)--------> pebble-challtestsrv on 127.0.0.1: every name is `resolveTo` (127.0.0.1)
 *   Pebble  --TLS, ALPN acme-tls/1, SNI <domain>--> <resolveTo>:<tlsPort>, Traefik's published HTTPS port
 *
 * Validation is real (PEBBLE_VA_ALWAYS_VALID is never set); only Pebble's random delays and random
 * bad-nonce rejections are off, which exist to shake out client bugs and would make the tests slow and
 * flaky. The binaries and Pebble's listener certificate come from scripts/install-pebble.sh, which this
 * runs when they are missing.
 *
 * Lego (Traefik's ACME client) has to trust Pebble's listener: give the container `listenerCaFile` as
 * LEGO_CA_CERTIFICATES and `listenerServerName` as LEGO_CA_SERVER_NAME, because the listener certificate
 * names localhost, pebble and 127.0.0.1, never host.docker.internal. (Traefik v3.6 also takes them as the
 * resolver options acme.caCertificates and acme.caServerName.)
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './docker-platform';

export const PEBBLE_VERSION = process.env.CREWCLAW_PEBBLE_VERSION ?? 'v2.10.3';
/** Where scripts/install-pebble.sh puts bin/ and certs/ (the same default as the script's). */
export const PEBBLE_DIR =
  process.env.CREWCLAW_PEBBLE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'crewclaw', 'pebble', PEBBLE_VERSION);

const INSTALL_SCRIPT = path.resolve(__dirname, '../../../../scripts/install-pebble.sh');
/** The name containers reach the Docker host by (extra_hosts: host.docker.internal:host-gateway). */
const HOST_FROM_CONTAINERS = 'host.docker.internal';

export interface PebbleOptions {
  /** Host port Pebble validates TLS-ALPN-01 challenges on: where Traefik's HTTPS entrypoint is published. */
  tlsPort: number;
  /** Host port for HTTP-01 challenges (default: a free port nobody listens on, so HTTP-01 fails). */
  httpPort?: number;
  /** The address every domain resolves to for Pebble's validation (default 127.0.0.1). */
  resolveTo?: string;
}

/**
 * A running Pebble. Its root and intermediate are made afresh at every start, so a certificate from one
 * run never verifies against another run's root. Stopped by stop(), or when the test process exits.
 */
export interface PebbleServer {
  /** ACME directory as a container reaches it: https://host.docker.internal:<port>/dir. */
  directoryUrlForContainers: string;
  /** ACME directory from the host: https://localhost:<port>/dir. */
  directoryUrl: string;
  /** PEM of the CA that signed Pebble's own HTTPS listener (LEGO_CA_CERTIFICATES wants a file: listenerCaFile). */
  listenerCaPem: string;
  /** A file holding listenerCaPem, in a temporary directory of this run, to bind-mount into a container. */
  listenerCaFile: string;
  /** The name to verify Pebble's listener as (LEGO_CA_SERVER_NAME): one its certificate carries. */
  listenerServerName: string;
  /** PEM of the root that certificates Pebble issues chain to (management API, /roots/0). */
  issuerRootPem(): Promise<string>;
  /** Both processes' output so far, to print when a test fails. */
  logs(): string;
  /** Stops both processes and removes the temporary directory; safe to call twice. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function ensureInstalled(): Promise<{ bin: string; certs: string }> {
  const bin = path.join(PEBBLE_DIR, 'bin');
  const certs = path.join(PEBBLE_DIR, 'certs');
  const wanted = [path.join(bin, 'pebble'), path.join(bin, 'pebble-challtestsrv'), ...['cert.pem', 'key.pem', 'pebble.minica.pem'].map((f) => path.join(certs, f))];
  if (!wanted.every((file) => fs.existsSync(file))) {
    try {
      await promisify(execFile)(INSTALL_SCRIPT, [], { env: { ...process.env, CREWCLAW_PEBBLE_VERSION: PEBBLE_VERSION, CREWCLAW_PEBBLE_DIR: PEBBLE_DIR }, timeout: 600_000 });
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(`${INSTALL_SCRIPT} failed: ${stderr.trim() || String(error)}`, { cause: error });
    }
  }
  return { bin, certs };
}

/** GET over HTTPS trusting only `ca`; resolves with the body of a 200. */
function httpsGet(url: string, ca: string, servername?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ca, servername, timeout: 5_000, headers: { 'User-Agent': 'crewclaw-tests' } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (response.statusCode === 200) resolve(body);
        else reject(new Error(`GET ${url}: ${response.statusCode} ${body.slice(0, 200)}`));
      });
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url}: timed out`)));
    request.on('error', reject);
  });
}

interface Child {
  process: ChildProcess;
  /** Shared by both processes, so their lines keep their order. */
  output: string[];
}

function startChild(name: string, file: string, args: string[], env: NodeJS.ProcessEnv, output: string[]): Child {
  const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer) => {
    output.push(...chunk.toString('utf8').split('\n').filter(Boolean).map((line) => `[${name}] ${line}`));
    if (output.length > 2000) output.splice(0, output.length - 2000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('exit', (code, signal) => output.push(`[${name}] exited (${signal ?? code})`));
  return { process: child, output };
}

function stopChild(child: Child): Promise<void> {
  const { process: proc } = child;
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    proc.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

/** Polls `probe` until it resolves, the child exits, or `timeoutMs` passes. */
async function waitFor(what: string, child: Child, probe: () => Promise<unknown>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) {
      throw new Error(`${what} exited before it was ready:\n${child.output.join('\n')}`);
    }
    try {
      await probe();
      return;
    } catch (error) {
      last = error;
    }
    await sleep(100);
  }
  throw new Error(`${what} not ready within ${timeoutMs} ms (${String(last)}):\n${child.output.join('\n')}`);
}

export async function startPebble(options: PebbleOptions): Promise<PebbleServer> {
  const { bin, certs } = await ensureInstalled();
  const resolveTo = options.resolveTo ?? '127.0.0.1';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crewclaw-pebble-'));
  const children: Child[] = [];
  const output: string[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', killOnExit);
    await Promise.all(children.map(stopChild));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  // A test process that dies without stop() must not leave Pebble holding its ports.
  const killOnExit = () => children.forEach((child) => child.process.kill('SIGKILL'));
  process.on('exit', killOnExit);

  try {
    const listenerCaPem = fs.readFileSync(path.join(certs, 'pebble.minica.pem'), 'utf8');
    const listenerCaFile = path.join(dir, 'pebble-listener-ca.pem');
    fs.writeFileSync(listenerCaFile, listenerCaPem, { mode: 0o644 });
    // The temporary directory is 0700; a container running as another user still has to read the file.
    fs.chmodSync(dir, 0o755);

    // DNS for Pebble's validation: every A query answers resolveTo, AAAA nothing (so no ::1 attempt
    // first). Every other listener of challtestsrv is off, except management, which cannot be.
    const dnsPort = await freePort('127.0.0.1');
    const challtestsrvManagementPort = await freePort('127.0.0.1');
    const challtestsrv = startChild(
      'challtestsrv',
      path.join(bin, 'pebble-challtestsrv'),
      [
        '-defaultIPv4', resolveTo,
        '-defaultIPv6', '',
        '-dnsserver', `127.0.0.1:${dnsPort}`,
        '-management', `127.0.0.1:${challtestsrvManagementPort}`,
        '-doh', '',
        '-http01', '',
        '-https01', '',
        '-tlsalpn01', '',
      ],
      process.env,
      output,
    );
    children.push(challtestsrv);
    const resolver = new Resolver({ timeout: 1_000, tries: 1 });
    resolver.setServers([`127.0.0.1:${dnsPort}`]);
    await waitFor('pebble-challtestsrv', challtestsrv, async () => {
      const answer = await resolver.resolve4('probe.crewclaw.test');
      if (answer[0] !== resolveTo) throw new Error(`probe.crewclaw.test resolved to ${answer.join(', ')}`);
    });

    // Pebble: ACME on every interface (containers come in through the Docker host gateway), management
    // on loopback only.
    const acmePort = await freePort('0.0.0.0');
    const managementPort = await freePort('127.0.0.1');
    const configFile = path.join(dir, 'pebble-config.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify(
        {
          pebble: {
            listenAddress: `0.0.0.0:${acmePort}`,
            managementListenAddress: `127.0.0.1:${managementPort}`,
            certificate: path.join(certs, 'cert.pem'),
            privateKey: path.join(certs, 'key.pem'),
            httpPort: options.httpPort ?? (await freePort('127.0.0.1')),
            tlsPort: options.tlsPort,
            ocspResponderURL: '',
            externalAccountBindingRequired: false,
          },
        },
        null,
        2,
      ),
    );
    const env: NodeJS.ProcessEnv = { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' };
    delete env.PEBBLE_VA_ALWAYS_VALID;
    const pebble = startChild('pebble', path.join(bin, 'pebble'), ['-config', configFile, '-dnsserver', `127.0.0.1:${dnsPort}`], env, output);
    children.push(pebble);
    const directoryUrl = `https://localhost:${acmePort}/dir`;
    await waitFor('pebble', pebble, () => httpsGet(directoryUrl, listenerCaPem));
    const rootUrl = `https://localhost:${managementPort}/roots/0`;
    await waitFor('pebble management', pebble, () => httpsGet(rootUrl, listenerCaPem));

    return {
      directoryUrl,
      directoryUrlForContainers: `https://${HOST_FROM_CONTAINERS}:${acmePort}/dir`,
      listenerCaPem,
      listenerCaFile,
      listenerServerName: 'localhost',
      issuerRootPem: () => httpsGet(rootUrl, listenerCaPem),
      logs: () => output.join('\n'),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
