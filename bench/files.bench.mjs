// Issue #4 benchmark: moving files between a computer and a runtime, through the API and with
// `docker cp`, side by side in one run, into and out of the same running container.
//   upload:   one 1 GiB file, POST /api/files/upload as the plain body (and, for comparison, as
//             multipart)                                          vs  docker cp FILE container:PATH
//   download: a 1 GiB folder of incompressible files as a zip      vs  docker cp container:PATH - (tar)
//   many files: folders of 20,000 and 60,000 small files as zips  vs  docker cp container:PATH - (tar),
//             the zip repeated to show the control plane's memory does not climb (issue 8, item 10)
// Targets: throughput ratio (ours / docker cp) >= 0.8 for the 1 GiB cases; the control plane's peak
// memory during each stays within 64 MB of its idle memory, whatever the number of entries, and
// returns there afterwards. The API's client is curl (see `curl` below).
// BENCH_FILES_CASES=big,many picks the cases (both by default); BENCH_ROUNDS the rounds of each.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, cookieOf, docker, freePort, machine, median, request, rssMiB, sleep, withPeakRss, startControlPlane, tempDir, waitFor } from './lib.mjs';

const PREFIX = 'ccfbench';
const SIZE = 1024 ** 3;
const FOLDER_FILES = 64;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CASES = (process.env.BENCH_FILES_CASES ?? 'big,many').split(',');
/** Folders of small files (a few hundred bytes of text each), 1,000 per subfolder. */
const MANY = [20_000, 60_000];
/** Zips of the biggest folder in a row, memory read after each: it must settle, not climb. */
const MANY_REPEATS = 10;
/** How long after a transfer the control plane's memory is read as "after". */
const SETTLE_MS = 5000;
const WORKSPACE = '/home/node/.openclaw/workspace';
const ORIGIN = 'http://localhost:8080';

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

/** Makes `count` small text files in folder `name` of the workspace, as the agent (uid 1000). */
async function makeManyFiles(container, name, count) {
  const script = `const fs = require('fs'); const root = '${WORKSPACE}/${name}';
    for (let index = 0; index < ${count}; index += 1) {
      const folder = root + '/d' + Math.floor(index / 1000);
      if (index % 1000 === 0) fs.mkdirSync(folder, { recursive: true });
      fs.writeFileSync(folder + '/file-' + index + '.txt', 'line ' + index + ' of some text\\n'.repeat(1 + (index % 20)));
    }`;
  await docker('exec', '-u', '1000', container, 'node', '-e', script);
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

/** Upload of a 1 GiB file and zip of a 1 GiB folder, against docker cp both ways. */
async function bigTransfers(pid, base, session, container) {
  const scratch = tempDir();
  try {
    const bigFile = path.join(scratch, 'big.bin');
    console.log('files bench: writing 1 GiB of random bytes');
    await writeRandomFile(bigFile, SIZE);
    // The download folder is made inside the container: 64 files of 16 MiB from /dev/urandom.
    await docker('exec', '-u', '1000', container, 'sh', '-c', `mkdir -p ${WORKSPACE}/dl && for i in $(seq 1 ${FOLDER_FILES}); do head -c ${SIZE / FOLDER_FILES} /dev/urandom > ${WORKSPACE}/dl/f$i.bin; done`);

    await sleep(3000);
    const idleMiB = rssMiB(pid);
    const rounds = { uploadCp: [], uploadApi: [], uploadMultipart: [], downloadCp: [], downloadApi: [], uploadPeak: [], downloadPeak: [] };
    for (let round = 0; round < ROUNDS; round += 1) {
      const cp = await withPeakRss(pid, () => runCommand('docker', ['cp', bigFile, `${container}:${WORKSPACE}/cp-big.bin`]));
      rounds.uploadCp.push(cp.seconds);
      await docker('exec', container, 'rm', '-f', `${WORKSPACE}/cp-big.bin`);
      const api = await withPeakRss(pid, () => uploadRawThroughApi(base, session, bigFile, 'api-big.bin'));
      rounds.uploadApi.push(api.seconds);
      rounds.uploadPeak.push(api.peakMiB);
      const landed = await docker('exec', container, 'stat', '-c', '%s', `${WORKSPACE}/api-big.bin`);
      if (Number(landed) !== SIZE) throw new Error(`the API upload landed ${landed} bytes`);
      await docker('exec', container, 'rm', '-f', `${WORKSPACE}/api-big.bin`);
      // The same file in a multipart form (what folder and multi-file uploads use), for comparison.
      const multipart = await withPeakRss(pid, () => uploadThroughApi(base, session, bigFile, 'form-big.bin'));
      rounds.uploadMultipart.push(multipart.seconds);
      rounds.uploadPeak.push(multipart.peakMiB);
      await docker('exec', container, 'rm', '-f', `${WORKSPACE}/form-big.bin`);

      const cpOut = await withPeakRss(pid, () => runCommand('docker', ['cp', `${container}:${WORKSPACE}/dl`, '-'], { stdoutToNull: true }));
      rounds.downloadCp.push(cpOut.seconds);
      const zip = await withPeakRss(pid, () => downloadZipThroughApi(base, session, 'dl'));
      if (zip.result < SIZE) throw new Error(`the zip held only ${zip.result} bytes`);
      rounds.downloadApi.push(zip.seconds);
      rounds.downloadPeak.push(zip.peakMiB);
    }
    const mibPerSecond = (seconds) => Math.round(SIZE / 2 ** 20 / seconds);
    const upload = { dockerCp: mibPerSecond(median(rounds.uploadCp)), api: mibPerSecond(median(rounds.uploadApi)), multipart: mibPerSecond(median(rounds.uploadMultipart)) };
    const download = { dockerCp: mibPerSecond(median(rounds.downloadCp)), api: mibPerSecond(median(rounds.downloadApi)) };
    const result = {
      idleRssMiB: Math.round(idleMiB),
      upload: { ...upload, ratio: Math.round((upload.api / upload.dockerCp) * 100) / 100, peakOverIdleMiB: Math.round(Math.max(...rounds.uploadPeak) - idleMiB) },
      download: { ...download, ratio: Math.round((download.api / download.dockerCp) * 100) / 100, peakOverIdleMiB: Math.round(Math.max(...rounds.downloadPeak) - idleMiB) },
      rounds,
    };
    console.log(`  upload 1 GiB:   docker cp ${upload.dockerCp} MiB/s, API (plain body) ${upload.api} MiB/s, ratio ${result.upload.ratio} (target >= 0.8); as multipart ${upload.multipart} MiB/s, ratio ${Math.round((upload.multipart / upload.dockerCp) * 100) / 100}; peak RSS +${result.upload.peakOverIdleMiB} MiB over idle ${result.idleRssMiB} MiB (target <= 64)`);
    console.log(`  zip 1 GiB:      docker cp ${download.dockerCp} MiB/s, API ${download.api} MiB/s, ratio ${result.download.ratio} (target >= 0.8); peak RSS +${result.download.peakOverIdleMiB} MiB (target <= 64)`);
    return result;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Zips of folders of many small files, against docker cp of the same folders: time, and the control
 * plane's memory at its peak and SETTLE_MS after each zip, over its idle memory; then the biggest
 * folder zipped MANY_REPEATS times in a row, memory read after each.
 */
async function manyFiles(pid, base, session, container) {
  for (const count of MANY) {
    console.log(`files bench: making ${count} small files in the runtime`);
    await makeManyFiles(container, `many-${count}`, count);
  }
  await sleep(SETTLE_MS);
  const idleMiB = rssMiB(pid);
  const result = { idleRssMiB: Math.round(idleMiB) };
  const overIdle = (mib) => Math.round(mib - idleMiB);
  for (const count of MANY) {
    const rounds = { dockerCp: [], api: [], peak: [], after: [] };
    for (let round = 0; round < ROUNDS; round += 1) {
      const cp = await withPeakRss(pid, () => runCommand('docker', ['cp', `${container}:${WORKSPACE}/many-${count}`, '-'], { stdoutToNull: true }));
      rounds.dockerCp.push(cp.seconds);
      const zip = await withPeakRss(pid, () => downloadZipThroughApi(base, session, `many-${count}`));
      rounds.api.push(zip.seconds);
      rounds.peak.push(zip.peakMiB);
      await sleep(SETTLE_MS);
      rounds.after.push(rssMiB(pid));
    }
    const dockerCp = median(rounds.dockerCp);
    const api = median(rounds.api);
    result[count] = {
      dockerCpSeconds: Math.round(dockerCp * 100) / 100,
      apiSeconds: Math.round(api * 100) / 100,
      ratio: Math.round((dockerCp / api) * 100) / 100,
      peakOverIdleMiB: overIdle(Math.max(...rounds.peak)),
      afterOverIdleMiB: overIdle(rounds.after.at(-1)),
      rounds,
    };
    console.log(`  zip of ${count} files: docker cp ${result[count].dockerCpSeconds} s, API ${result[count].apiSeconds} s, ratio ${result[count].ratio}; peak RSS +${result[count].peakOverIdleMiB} MiB, ${SETTLE_MS / 1000} s after +${result[count].afterOverIdleMiB} MiB over idle ${result.idleRssMiB} MiB (target <= 64, the same for every count)`);
  }
  const biggest = MANY.at(-1);
  const repeated = [];
  for (let round = 0; round < MANY_REPEATS; round += 1) {
    const zip = await withPeakRss(pid, () => downloadZipThroughApi(base, session, `many-${biggest}`));
    await sleep(SETTLE_MS);
    repeated.push({ peakOverIdleMiB: overIdle(zip.peakMiB), afterOverIdleMiB: overIdle(rssMiB(pid)) });
  }
  result.repeated = { count: biggest, zips: repeated };
  console.log(`  ${MANY_REPEATS} zips of ${biggest} files in a row, RSS over idle after each: ${repeated.map((zip) => `+${zip.afterOverIdleMiB}`).join(', ')} MiB (peaks ${repeated.map((zip) => `+${zip.peakOverIdleMiB}`).join(', ')})`);
  return result;
}

/** Runs `work(pid, base, session, container)` against a fresh control plane and one running runtime, then removes both. */
async function withPlatform(work) {
  await cleanup();
  const dataDir = tempDir();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = startControlPlane({
    port,
    dataDir,
    env: {
      LOG_LEVEL: 'warn',
      PUBLIC_URL: ORIGIN,
      RUNTIME_IMAGE: 'crewclaw/runtime:dev',
      RUNTIME_NAME_PREFIX: PREFIX,
      RUNTIME_SUBNET_POOL: '10.217.0.0/16',
    },
  });
  const container = `${PREFIX}-rt-admin`;
  try {
    await waitFor(`${base}/api/ready`);
    const setup = await request(`${base}/api/setup`, { method: 'POST', headers: { origin: ORIGIN }, body: { username: 'admin', password: 'bench-password' } });
    if (setup.status !== 201) throw new Error(`setup answered ${setup.status}`);
    const session = { cookie: cookieOf(setup), csrfToken: setup.body.csrfToken };
    const started = await request(`${base}/api/runtime/start`, { method: 'POST', headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken, origin: ORIGIN } });
    if (started.body.runtime?.state !== 'running') throw new Error(`runtime did not start: ${JSON.stringify(started.body)}`);
    return await work(server.child.pid, base, session, container);
  } finally {
    await server.stop();
    await cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function run() {
  if (!fs.existsSync(path.join(ROOT, 'dist/server/main.js'))) throw new Error('Run `npm run build` first.');
  const result = { machine: machine(), date: new Date().toISOString() };
  console.log(`files bench on ${result.machine}`);
  // Each case on a control plane of its own, so that its idle and after figures are its own.
  if (CASES.includes('many')) result.many = await withPlatform(manyFiles);
  if (CASES.includes('big')) Object.assign(result, await withPlatform(bigTransfers));
  return result;
}
