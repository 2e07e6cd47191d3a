// Issue #4 benchmark: moving files between a computer and a runtime, through the API and with
// `docker cp`, side by side in one run, into and out of the same running container.
//   upload:   one 1 GiB file, POST /api/files/upload as the plain body (and, for comparison, as
//             multipart)                                          vs  docker cp FILE container:PATH
//   download: a 1 GiB folder of incompressible files as a zip      vs  docker cp container:PATH - (tar)
// Targets: throughput ratio (ours / docker cp) >= 0.8 for each; the control plane's peak memory
// during each stays within 64 MB of its idle memory. The API's client is curl (see `curl` below).
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CONTROL_PLANE_AS_SHIPPED, ROOT, cookieOf, docker, freePort, machine, median, request, rssMiB, sleep, startNode, tempDir, waitFor } from './lib.mjs';

const PREFIX = 'ccfbench';
const SIZE = 1024 ** 3;
const FOLDER_FILES = 64;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WORKSPACE = '/home/node/.openclaw/workspace';
const ORIGIN = 'http://localhost:8080';

/** Samples a process's RSS every 50 ms while `work` runs; returns the work's result, seconds and the peak. */
async function measured(pid, work) {
  let peak = rssMiB(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMiB(pid));
    } catch {
      // process gone: the work will fail and say why
    }
  }, 50);
  const started = process.hrtime.bigint();
  try {
    const result = await work();
    return { result, seconds: Number(process.hrtime.bigint() - started) / 1e9, peakMiB: peak };
  } finally {
    clearInterval(timer);
  }
}

function runCommand(command, args, { stdoutToNull = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', stdoutToNull ? 'ignore' : 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')}: ${stderr}`))));
  });
}

async function writeRandomFile(file, bytes) {
  const out = fs.createWriteStream(file);
  for (let written = 0; written < bytes; written += 16 * 1024 ** 2) {
    if (!out.write(crypto.randomBytes(Math.min(16 * 1024 ** 2, bytes - written)))) await new Promise((resolve) => out.once('drain', resolve));
  }
  await new Promise((resolve, reject) => out.end((error) => (error ? reject(error) : resolve())));
}

/**
 * The API's client is curl, as `docker cp`'s is the Docker CLI: both native, both on this machine, so
 * each side pays for its own client. (A Node client costs ~1.3 s of CPU per GiB, which on two cores
 * would mostly measure the client.) curl streams files for -T and -F; it never loads them whole.
 */
function curl(args, { output = '-' } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['--silent', '--show-error', '--output', output, '--write-out', '\n%{http_code} %{size_download}', '-H', 'Expect:', ...args]);
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out = (out + chunk).slice(-4096)));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('error', (error) => reject(new Error(`curl is needed for this benchmark: ${error.message}`)));
    child.on('exit', (code) => {
      const [status, size] = out.slice(out.lastIndexOf('\n') + 1).split(' ').map(Number);
      if (code !== 0) return reject(new Error(`curl exited ${code}: ${err}`));
      resolve({ status, size, body: out.slice(0, out.lastIndexOf('\n')) });
    });
  });
}

const sessionHeaders = (session) => ['-H', `cookie: ${session.cookie}`, '-H', `x-csrf-token: ${session.csrfToken}`, '-H', `origin: ${ORIGIN}`];

async function expectCreated(response) {
  if (response.status !== 201) throw new Error(`upload answered ${response.status}: ${response.body}`);
}

/** One file in a multipart form: the path folder and multi-file uploads take. */
async function uploadThroughApi(base, session, file, name) {
  await expectCreated(await curl([...sessionHeaders(session), '-F', `files=@${file};filename=${name};type=application/octet-stream`, `${base}/api/files/upload?path=&replace=true`]));
}

/** One file as the plain request body: the API's single-file path, as the web UI sends one file. */
async function uploadRawThroughApi(base, session, file, name) {
  await expectCreated(await curl([...sessionHeaders(session), '-X', 'POST', '-T', file, '-H', 'content-type: application/octet-stream', `${base}/api/files/upload?path=&replace=true&name=${encodeURIComponent(name)}`]));
}

/** Downloads a zip and throws the bytes away, as `docker cp ... -` to /dev/null does; returns its size. */
async function downloadZipThroughApi(base, session, folder) {
  const response = await curl(['-H', `cookie: ${session.cookie}`, `${base}/api/files/archive?path=${encodeURIComponent(folder)}`], { output: '/dev/null' });
  if (response.status !== 200) throw new Error(`archive answered ${response.status}`);
  return response.size;
}

async function cleanup() {
  const ids = async (kind) => {
    const base = kind === 'ps' ? ['ps', '-aq'] : [kind, 'ls', '-q'];
    return (await docker(...base, '--filter', `label=org.crewclaw.platform=${PREFIX}`)).split('\n').filter(Boolean);
  };
  const containers = await ids('ps');
  if (containers.length) await docker('rm', '-f', ...containers);
  for (const network of await ids('network')) await docker('network', 'rm', network).catch(() => undefined);
  const volumes = await ids('volume');
  if (volumes.length) await docker('volume', 'rm', '-f', ...volumes);
}

export async function run() {
  if (!fs.existsSync(path.join(ROOT, 'dist/server/main.js'))) throw new Error('Run `npm run build` first.');
  await cleanup();
  const dataDir = tempDir();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = startNode([...CONTROL_PLANE_AS_SHIPPED.nodeArgs, 'dist/server/main.js'], {
    ...CONTROL_PLANE_AS_SHIPPED.env,
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    PUBLIC_URL: ORIGIN,
    RUNTIME_IMAGE: 'crewclaw/runtime:dev',
    RUNTIME_NAME_PREFIX: PREFIX,
    RUNTIME_SUBNET_POOL: '10.217.0.0/16',
  });
  const container = `${PREFIX}-rt-admin`;
  try {
    await waitFor(`${base}/api/ready`);
    const setup = await request(`${base}/api/setup`, { method: 'POST', headers: { origin: ORIGIN }, body: { username: 'admin', password: 'bench-password' } });
    if (setup.status !== 201) throw new Error(`setup answered ${setup.status}`);
    const session = { cookie: cookieOf(setup), csrfToken: setup.body.csrfToken };
    const started = await request(`${base}/api/runtime/start`, { method: 'POST', headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken, origin: ORIGIN } });
    if (started.body.runtime?.state !== 'running') throw new Error(`runtime did not start: ${JSON.stringify(started.body)}`);

    const scratch = tempDir();
    const bigFile = path.join(scratch, 'big.bin');
    console.log('files bench: writing 1 GiB of random bytes');
    await writeRandomFile(bigFile, SIZE);
    // The download folder is made inside the container: 64 files of 16 MiB from /dev/urandom.
    await docker('exec', '-u', '1000', container, 'sh', '-c', `mkdir -p ${WORKSPACE}/dl && for i in $(seq 1 ${FOLDER_FILES}); do head -c ${SIZE / FOLDER_FILES} /dev/urandom > ${WORKSPACE}/dl/f$i.bin; done`);

    await sleep(3000);
    const idleMiB = rssMiB(server.child.pid);
    const rounds = { uploadCp: [], uploadApi: [], uploadMultipart: [], downloadCp: [], downloadApi: [], uploadPeak: [], downloadPeak: [] };
    for (let round = 0; round < ROUNDS; round += 1) {
      const cp = await measured(server.child.pid, () => runCommand('docker', ['cp', bigFile, `${container}:${WORKSPACE}/cp-big.bin`]));
      rounds.uploadCp.push(cp.seconds);
      await docker('exec', container, 'rm', '-f', `${WORKSPACE}/cp-big.bin`);
      const api = await measured(server.child.pid, () => uploadRawThroughApi(base, session, bigFile, 'api-big.bin'));
      rounds.uploadApi.push(api.seconds);
      rounds.uploadPeak.push(api.peakMiB);
      const landed = await docker('exec', container, 'stat', '-c', '%s', `${WORKSPACE}/api-big.bin`);
      if (Number(landed) !== SIZE) throw new Error(`the API upload landed ${landed} bytes`);
      await docker('exec', container, 'rm', '-f', `${WORKSPACE}/api-big.bin`);
      // The same file in a multipart form (what folder and multi-file uploads use), for comparison.
      const multipart = await measured(server.child.pid, () => uploadThroughApi(base, session, bigFile, 'form-big.bin'));
      rounds.uploadMultipart.push(multipart.seconds);
      rounds.uploadPeak.push(multipart.peakMiB);
      await docker('exec', container, 'rm', '-f', `${WORKSPACE}/form-big.bin`);

      const cpOut = await measured(server.child.pid, () => runCommand('docker', ['cp', `${container}:${WORKSPACE}/dl`, '-'], { stdoutToNull: true }));
      rounds.downloadCp.push(cpOut.seconds);
      const zip = await measured(server.child.pid, () => downloadZipThroughApi(base, session, 'dl'));
      if (zip.result < SIZE) throw new Error(`the zip held only ${zip.result} bytes`);
      rounds.downloadApi.push(zip.seconds);
      rounds.downloadPeak.push(zip.peakMiB);
    }
    const mibPerSecond = (seconds) => Math.round(SIZE / 2 ** 20 / seconds);
    const upload = { dockerCp: mibPerSecond(median(rounds.uploadCp)), api: mibPerSecond(median(rounds.uploadApi)), multipart: mibPerSecond(median(rounds.uploadMultipart)) };
    const download = { dockerCp: mibPerSecond(median(rounds.downloadCp)), api: mibPerSecond(median(rounds.downloadApi)) };
    const result = {
      machine: machine(),
      date: new Date().toISOString(),
      idleRssMiB: Math.round(idleMiB),
      upload: { ...upload, ratio: Math.round((upload.api / upload.dockerCp) * 100) / 100, peakOverIdleMiB: Math.round(Math.max(...rounds.uploadPeak) - idleMiB) },
      download: { ...download, ratio: Math.round((download.api / download.dockerCp) * 100) / 100, peakOverIdleMiB: Math.round(Math.max(...rounds.downloadPeak) - idleMiB) },
      rounds,
    };
    console.log(`files bench on ${result.machine}`);
    console.log(`  upload 1 GiB:   docker cp ${upload.dockerCp} MiB/s, API (plain body) ${upload.api} MiB/s, ratio ${result.upload.ratio} (target >= 0.8); as multipart ${upload.multipart} MiB/s, ratio ${Math.round((upload.multipart / upload.dockerCp) * 100) / 100}; peak RSS +${result.upload.peakOverIdleMiB} MiB over idle ${result.idleRssMiB} MiB (target <= 64)`);
    console.log(`  zip 1 GiB:      docker cp ${download.dockerCp} MiB/s, API ${download.api} MiB/s, ratio ${result.download.ratio} (target >= 0.8); peak RSS +${result.download.peakOverIdleMiB} MiB (target <= 64)`);
    fs.rmSync(scratch, { recursive: true, force: true });
    return result;
  } finally {
    await server.stop();
    await cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
