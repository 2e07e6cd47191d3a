/*
 * The files service's hands inside a runtime container. The control plane runs it with
 * `docker exec --user 1000 <runtime> node -e <this file> <root> <tmp> <op> [args...]`, so it always
 * matches the control plane's version whatever image the runtime runs, and everything it writes
 * belongs to the agent's own uid.
 *
 * It owns the one rule the control plane cannot check from outside: every path is resolved on the
 * real filesystem, and nothing is read or written through a symlink that leads out of the
 * workspace root. It depends on nothing but Node itself.
 *
 * Results: JSON on stdout and exit 0; failures: {"error":{"code","message"}} on stdout and exit 1.
 *
 * Bulk bytes (uploads, saves, downloads, zips) travel over a data channel, not through the exec's
 * stdio: Docker routes exec stdio through dockerd and containerd-shim, which alone caps throughput
 * near half of `docker cp`. See openChannel. `upload` and `save` read a framed stream (readFrames),
 * `receive` one raw file; files land under a temporary name outside the workspace and are renamed
 * into place only when the whole request arrived; a request cut short leaves nothing visible.
 * `read` and `pack` (a tar of a file or folder) write to the channel.
 */
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const { Readable } = require('node:stream');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const readline = require('node:readline');
const { randomBytes, timingSafeEqual } = require('node:crypto');

const TOKEN_BYTES = 32;
/** Buffers of 1 MiB, not Node's 16 KiB: streams then flow instead of pausing at every 64 KiB chunk. */
const BUFFER_BYTES = 1024 * 1024;
/** A control plane that announced a transfer connects within milliseconds; this is for one that died. */
const CHANNEL_WAIT_MS = 30_000;

class ToolError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// `node -e <source> args` puts the args right after node; `node workspace-tool.cjs args` (tests) after the file.
const [root, tmpDir, op, ...args] = process.argv.slice(process.argv[1] === __filename ? 2 : 1);

function fail(error) {
  const known = error instanceof ToolError ? error : fromErrno(error);
  const code = known ? known.code : 'io';
  const message = known ? known.message : `${error.code || 'error'}: ${error.message}`;
  process.stdout.write(JSON.stringify({ error: { code, message, ...(known && known.paths && { paths: known.paths }) } }));
  process.exitCode = 1;
}

/** A path as the user knows it: relative to the workspace when it is inside. */
function shown(full) {
  if (typeof full !== 'string') return 'a path';
  let base = root;
  try {
    base = fs.realpathSync(root);
  } catch {
    // the workspace itself is gone: show the path as it is
  }
  for (const prefix of [base, root]) {
    if (full === prefix) return 'your workspace';
    if (full.startsWith(`${prefix}/`)) return `"${full.slice(prefix.length + 1)}"`;
  }
  return `"${full}"`;
}

/**
 * Filesystem errors the user's own files cause (a symlink loop, a folder without permission, a full
 * disk), in words that name the path: these are not failures of the platform.
 */
function fromErrno(error) {
  switch (error && error.code) {
    case 'ELOOP':
      return new ToolError('symlink_loop', `${shown(error.path)} goes through a symlink loop (a link that leads back to itself), so it cannot be opened.`);
    case 'EACCES':
    case 'EPERM':
      return new ToolError('permission_denied', `Your runtime's user has no permission to ${VERBS[error.syscall] || 'use'} ${shown(error.path)}; change its permissions in your runtime.`);
    case 'ENOSPC':
    case 'EDQUOT':
      return new ToolError('no_space', "Your runtime's disk is full; nothing was changed.");
    case 'ENAMETOOLONG':
      return new ToolError('invalid', `${shown(error.path)} is too long a path.`);
    default:
      return null;
  }
}

const VERBS = { open: 'open', scandir: 'list', opendir: 'list', realpath: 'reach', stat: 'reach', lstat: 'reach', mkdir: 'make a folder in', rename: 'move', unlink: 'delete', rmdir: 'delete', rm: 'delete', link: 'write to', copyfile: 'copy', readlink: 'read' };

function done(result) {
  process.stdout.write(JSON.stringify(result));
}

async function readAllStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * Opens the data channel: listens on an ephemeral port of the runtime's private network (which
 * only the control plane reaches from outside), announces it as the first line on stdout, and
 * takes the first connection that presents the one-time token the control plane wrote on stdin.
 * The token is kept out of argv and the environment, which anyone on the runtime's network could
 * not see anyway; the agent, being the same uid, could still reach the tool's stdin through /proc,
 * but it gains nothing by that: everything a channel carries is its own container's files.
 */
async function openChannel() {
  const token = Buffer.from((await readAllStdin()).toString('utf8').trim(), 'hex');
  if (token.length !== TOKEN_BYTES) throw new ToolError('invalid', 'No data channel token was given.');
  // Half-open: a sender that has said all it had to say may still be waiting for bytes to come back.
  const server = net.createServer({ allowHalfOpen: true, highWaterMark: BUFFER_BYTES });
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, resolve));
  process.stdout.write(`${JSON.stringify({ channel: server.address().port })}\n`);
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new ToolError('incomplete', 'The control plane never connected.')), CHANNEL_WAIT_MS);
      server.on('connection', (socket) => {
        socket.on('error', () => undefined);
        socket.setTimeout(5_000, () => socket.destroy());
        const check = () => {
          const head = socket.read(TOKEN_BYTES);
          if (head === null) return;
          socket.off('readable', check);
          if (head.length !== TOKEN_BYTES || !timingSafeEqual(head, token)) return socket.destroy();
          socket.setTimeout(0);
          // A control plane that vanished without a FIN or RST must not keep the tool waiting forever.
          socket.setKeepAlive(true, 10_000);
          clearTimeout(timer);
          resolve(socket);
        };
        socket.on('readable', check);
      });
    });
  } finally {
    server.close();
  }
}

function rootReal() {
  fs.mkdirSync(root, { recursive: true });
  return fs.realpathSync(root);
}

function isInside(real, base) {
  return real === base || real.startsWith(`${base}/`);
}

function notFound(rel) {
  return new ToolError('not_found', `"${rel}" does not exist.`);
}

/** An existing file or folder, with every symlink on the way resolved and checked. */
function resolveExisting(rel) {
  const base = rootReal();
  let real;
  try {
    real = fs.realpathSync(path.join(base, rel));
  } catch (error) {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') throw notFound(rel);
    if (error.code === 'ELOOP') throw new ToolError('symlink_loop', `"${rel}" goes through a symlink loop (a link that leads back to itself), so it cannot be opened.`);
    throw error;
  }
  if (!isInside(real, base)) throw new ToolError('outside', `"${rel}" leads outside your workspace through a symlink.`);
  return real;
}

/**
 * Where a new entry `rel` would go: its folder must exist inside the workspace; the name itself
 * may exist (then `existing` tells what it is) but must not be a symlink, which a write would follow.
 */
function resolveTarget(rel, options = {}) {
  const base = rootReal();
  const name = path.basename(rel);
  const parentRel = path.dirname(rel);
  if (options.makeParents) makeFolders(parentRel === '.' ? '' : parentRel);
  const parent = parentRel === '.' ? base : resolveExisting(parentRel);
  if (!fs.statSync(parent).isDirectory()) throw new ToolError('not_a_folder', `"${parentRel}" is a file, not a folder.`);
  const target = path.join(parent, name);
  let existing = null;
  try {
    const stat = fs.lstatSync(target);
    if (stat.isSymbolicLink()) throw new ToolError('symlink', `"${rel}" is a symlink; replace or remove it in your runtime instead.`);
    existing = stat.isDirectory() ? 'folder' : 'file';
  } catch (error) {
    if (error instanceof ToolError) throw error;
    if (error.code !== 'ENOENT') throw error;
  }
  return { target, existing };
}

/** mkdir -p inside the workspace, refusing to go through symlinks that leave it. */
function makeFolders(rel) {
  const base = rootReal();
  let current = base;
  for (const name of rel.split('/').filter(Boolean)) {
    const next = path.join(current, name);
    try {
      fs.mkdirSync(next);
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    const real = fs.realpathSync(next);
    if (!isInside(real, base)) throw new ToolError('outside', `"${rel}" leads outside your workspace through a symlink.`);
    if (!fs.statSync(real).isDirectory()) throw new ToolError('not_a_folder', `"${path.relative(base, next)}" is a file, not a folder.`);
    current = real;
  }
  return current;
}

function typeOf(stat) {
  if (stat.isDirectory()) return 'folder';
  if (stat.isFile()) return 'file';
  if (stat.isSymbolicLink()) return 'symlink';
  return 'other';
}

function etagOf(stat) {
  return `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}-${stat.ino.toString(16)}"`;
}

function describe(name, stat, full) {
  const entry = {
    name,
    type: typeOf(stat),
    size: stat.isDirectory() ? 0 : stat.size,
    modifiedAt: new Date(stat.mtimeMs).toISOString(),
    mode: (stat.mode & 0o7777).toString(8).padStart(4, '0'),
  };
  if (entry.type === 'symlink') {
    try {
      entry.linkTarget = fs.readlinkSync(full);
    } catch {
      entry.linkTarget = null;
    }
  }
  return entry;
}

function list(rel) {
  const real = resolveExisting(rel);
  if (!fs.statSync(real).isDirectory()) throw new ToolError('not_a_folder', `"${rel}" is a file, not a folder.`);
  const entries = [];
  for (const name of fs.readdirSync(real)) {
    const full = path.join(real, name);
    try {
      entries.push(describe(name, fs.lstatSync(full), full));
    } catch (error) {
      // Removed while we looked; anything else (a folder that may be read but not searched) is
      // said, rather than shown as an empty folder.
      if (error.code !== 'ENOENT') throw error;
    }
  }
  return { entries };
}

function stat(rel) {
  const real = resolveExisting(rel);
  const info = fs.statSync(real);
  // The real path, relative to the root: what the control plane hands to the other operations.
  return { ...describe(path.basename(real), info, real), realPath: path.relative(rootReal(), real), etag: etagOf(info) };
}

/**
 * What is at `rel` itself: a symlink there is described, not followed, wherever it points. This is
 * how a move or copy reports what it made: a link to outside the workspace is a fine thing to have
 * moved, and reading through it stays refused.
 */
function entryAt(rel) {
  const base = rootReal();
  const parent = path.dirname(rel) === '.' ? base : resolveExisting(path.dirname(rel));
  const full = path.join(parent, path.basename(rel));
  let info;
  try {
    info = fs.lstatSync(full);
  } catch (error) {
    if (error.code === 'ENOENT') throw notFound(rel);
    throw error;
  }
  return { ...describe(path.basename(full), info, full), realPath: path.relative(base, full), etag: etagOf(info) };
}

/** Writes `source` to the channel and ends it; resolves once it was all handed to the kernel. */
function sendAll(source, channel) {
  return new Promise((resolve, reject) => {
    source.once('error', reject);
    channel.once('error', reject);
    channel.once('close', () => reject(new ToolError('incomplete', 'The control plane hung up.')));
    source.pipe(channel).once('finish', resolve);
  });
}

/** Bytes `start` to `end` inclusive; exactly that many, or an error (the file shrank meanwhile). */
async function read(rel, start, end) {
  const real = resolveExisting(rel);
  const info = fs.statSync(real);
  if (info.isDirectory()) throw new ToolError('is_a_folder', `"${rel}" is a folder, not a file.`);
  // A FIFO or device would block the open, or never end.
  if (!info.isFile()) throw new ToolError('invalid', `"${rel}" is not a regular file.`);
  const from = Number(start);
  const to = end === undefined || end === '' ? info.size - 1 : Number(end);
  if (to < from) {
    await sendAll(Readable.from([]), await openChannel());
    return { sent: 0 };
  }
  const source = fs.createReadStream(real, { start: from, end: to, highWaterMark: BUFFER_BYTES });
  await new Promise((resolve, reject) => source.once('open', resolve).once('error', reject));
  await sendAll(source, await openChannel());
  if (source.bytesRead !== to - from + 1) throw new ToolError('changed', `"${rel}" changed while it was read.`);
  return { sent: source.bytesRead };
}

/** How many paths tar left out are named in the answer; beyond that they are counted. */
const MAX_NAMED = 10_000;

/**
 * A name as GNU tar quotes it in its messages (--quoting-style=escape, the C locale, colons escaped):
 * backslash escapes and octal bytes, decoded back to the name's own UTF-8.
 */
function unquoteTar(text) {
  const bytes = [];
  const controls = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11 };
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] !== '\\' || i === text.length - 1) {
      bytes.push(text.charCodeAt(i) & 0xff);
      continue;
    }
    const octal = /^[0-7]{3}/.exec(text.slice(i + 1, i + 4));
    if (octal) {
      bytes.push(parseInt(octal[0], 8) & 0xff);
      i += 3;
    } else {
      const next = text[i + 1];
      bytes.push(next in controls ? controls[next] : next.charCodeAt(0) & 0xff);
      i += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** One line of tar's warnings, as a path left out (or not as it is on disk) and why; null to ignore. */
function leftOutOf(line) {
  // "tar: NAME: MESSAGE", NAME quoted so that it holds no bare colon.
  const match = /^tar: ((?:[^\\:]|\\.)+): (.*)$/.exec(line);
  if (!match) {
    if (/^tar: Exiting with failure status/.test(line) || line.trim() === '') return null;
    return { path: null, reason: line.replace(/^tar: /, '') };
  }
  const name = unquoteTar(match[1]);
  const message = match[2].replace(/^Warning: /, '');
  const cannot = /^Cannot (\w+): (.*)$/.exec(message);
  let reason = message;
  if (message === 'socket ignored') reason = 'a socket: it has no content of its own';
  else if (/file changed as we read it/i.test(message)) reason = 'changed while it was read: the copy in this zip may mix old and new content';
  else if (/file removed before we read it/i.test(message)) reason = 'was deleted before it could be read';
  else if (/^File shrank by/.test(message)) reason = `${message.replace(/^File s/, 's').replace(/; padding with zeros$/, '')} while it was read: the copy in this zip is padded with zeros`;
  else if (cannot) reason = `could not be read (${cannot[1] === 'open' ? '' : `${cannot[1]}: `}${cannot[2]})`;
  return { path: name, reason };
}

/**
 * A tar of one file or folder, named by its last segment. GNU tar runs as the agent's own uid, so
 * nothing the agent could not read itself ever leaves; symlinks go in as links, never followed;
 * hard links go in as the files they are (--hard-dereference), since a zip has no hard links. What tar
 * cannot read is skipped rather than breaking the whole zip, and the answer names it (`leftOut`).
 */
async function pack(rel) {
  const real = resolveExisting(rel);
  // Connected first: Node drops the output of a child that exits before anyone reads it.
  const channel = await openChannel();
  // --no-unquote: GNU tar would otherwise read escapes such as \057 in the name it is given, and
  // archive something other than the path checked above. Needs GNU tar (Debian's, in our image).
  // delete=mtime: no extended header per file for sub-second times, which a zip cannot hold anyway;
  // it halves the tar of a folder of small files.
  const args = ['-c', '--format=posix', '--pax-option=delete=mtime', '--hard-dereference', '--ignore-failed-read', '--no-unquote', '-C', path.dirname(real), '--', path.basename(real)];
  // The C locale: messages in English, and names in them quoted the one way unquoteTar reads.
  const tar = spawn('tar', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
  const leftOut = [];
  let moreLeftOut = 0;
  let fatal = '';
  const lines = readline.createInterface({ input: tar.stderr, crlfDelay: Infinity });
  lines.on('line', (line) => {
    const entry = leftOutOf(line);
    if (!entry) return;
    if (entry.path === null) fatal = `${fatal}${line}\n`.slice(-4000);
    if (leftOut.length < MAX_NAMED) leftOut.push(entry);
    else moreLeftOut += 1;
  });
  const stderrDone = new Promise((resolve) => lines.once('close', resolve));
  const exited = new Promise((resolve) => {
    tar.once('close', resolve);
    tar.once('error', (error) => resolve(`${error.code || 'error'}: ${error.message}`));
  });
  try {
    await sendAll(tar.stdout, channel);
  } catch (error) {
    // The control plane hung up (the download was given up): stop tar, or it would wait forever.
    tar.kill('SIGKILL');
    throw error;
  }
  const code = await exited;
  await stderrDone;
  // 1: a file changed while it was read (named in leftOut); the archive is still whole.
  if (code !== 0 && code !== 1) throw new ToolError('io', `tar failed (${code}): ${fatal.trim() || leftOut.map((entry) => `${entry.path}: ${entry.reason}`).join('; ').slice(0, 4000)}`);
  return { sent: true, leftOut, moreLeftOut };
}

function mkdir(rel) {
  const { existing } = resolveTarget(rel, { makeParents: true });
  if (existing === 'folder') throw new ToolError('exists', `A folder "${rel}" already exists.`);
  if (existing === 'file') throw new ToolError('exists', `A file "${rel}" already exists.`);
  makeFolders(rel);
  return stat(rel);
}

function remove(rel) {
  if (rel === '') throw new ToolError('invalid', 'The workspace itself cannot be deleted.');
  const base = rootReal();
  // The entry itself may be a symlink: delete the link, never what it points to.
  const parent = path.dirname(rel) === '.' ? base : resolveExisting(path.dirname(rel));
  const target = path.join(parent, path.basename(rel));
  try {
    fs.lstatSync(target);
  } catch {
    throw notFound(rel);
  }
  fs.rmSync(target, { recursive: true, force: false });
  return { deleted: rel };
}

function transfer(kind, from, to, replace) {
  if (from === '') throw new ToolError('invalid', 'The workspace itself cannot be moved or copied.');
  const base = rootReal();
  const fromParent = path.dirname(from) === '.' ? base : resolveExisting(path.dirname(from));
  const source = path.join(fromParent, path.basename(from));
  let sourceStat;
  try {
    sourceStat = fs.lstatSync(source);
  } catch {
    throw notFound(from);
  }
  const { target, existing } = resolveTarget(to);
  if (target === source) throw new ToolError('invalid', 'The source and the destination are the same.');
  if (sourceStat.isDirectory() && isInside(target, source)) throw new ToolError('invalid', `"${from}" cannot go inside itself.`);
  if (existing && !replace) throw new ToolError('exists', `"${to}" already exists.`);
  if (existing === 'folder' && !sourceStat.isDirectory()) throw new ToolError('is_a_folder', `"${to}" is a folder; a file cannot replace it.`);
  if (kind === 'move') {
    if (existing === 'folder') fs.rmSync(target, { recursive: true });
    fs.renameSync(source, target);
  } else {
    // Copy beside the destination, then rename: a copy that fails halfway is never visible.
    const staging = path.join(path.dirname(target), `.crewclaw-copy-${randomBytes(6).toString('hex')}`);
    try {
      copyTree(source, staging, { from, to });
      if (existing === 'folder') fs.rmSync(target, { recursive: true });
      fs.renameSync(staging, target);
    } catch (error) {
      removeTree(staging);
      throw error;
    }
  }
  // Described as it is now, without following it: a symlink moved or copied stays a symlink.
  return { path: to, ...entryAt(to) };
}

/**
 * GNU cp, because it copies everything a folder can hold as what it is: named pipes and sockets are
 * made anew (not opened, which would block), symlinks are copied as links (-P), hard links inside
 * the copy stay linked, modes and times are kept. (Node's fs.cpSync fails on a named pipe, or leaves
 * it out silently, depending on the version.) Anything it cannot copy fails the whole copy, naming
 * what and why: nothing is left out silently.
 */
function copyTree(source, staging, names) {
  const copy = spawnSync('cp', ['-R', '-P', '--preserve=mode,timestamps,links', '-T', '--', source, staging], { env: { ...process.env, LC_ALL: 'C' }, encoding: 'utf8' });
  if (copy.error) throw copy.error;
  if (copy.status === 0) return;
  // cp names paths as it was given them: show them as the user named them.
  const said = copy.stderr
    .split('\n')
    .filter(Boolean)
    .slice(0, 20)
    .map((line) => line.replace(/^cp: /, '').split(staging).join(names.to).split(source).join(names.from))
    .join('; ');
  const code = /Permission denied|Operation not permitted/.test(copy.stderr) ? 'permission_denied' : /No space left|quota/i.test(copy.stderr) ? 'no_space' : 'io';
  throw new ToolError(code, `"${names.from}" could not be copied, so nothing was: ${said}`);
}

/** rm -rf, also of folders the copy left without write or search permission for their owner. */
function removeTree(full) {
  try {
    fs.rmSync(full, { recursive: true, force: true });
  } catch {
    spawnSync('chmod', ['-R', 'u+rwx', '--', full]);
    fs.rmSync(full, { recursive: true, force: true });
  }
}

/**
 * Frames on stdin, so that files of unknown length stream through one exec:
 *   'F' u32 n <n bytes of JSON {path}>   a file begins
 *   'D' u32 n <n bytes>                   its data
 *   'E'                                   it ended
 *   'Z'                                   the request ended: commit
 * Anything else, or the stream ending before 'Z', abandons the request.
 */
async function readFrames(input, handlers) {
  let pending = Buffer.alloc(0);
  let committed = false;
  for await (const chunk of input) {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let offset = 0;
    for (;;) {
      if (offset >= pending.length) break;
      const kind = String.fromCharCode(pending[offset]);
      if (kind === 'E' || kind === 'Z') {
        offset += 1;
        if (kind === 'E') handlers.end();
        else committed = true;
        continue;
      }
      if (kind !== 'F' && kind !== 'D') throw new ToolError('invalid', 'The upload stream is corrupt.');
      if (pending.length - offset < 5) break;
      const length = pending.readUInt32BE(offset + 1);
      if (pending.length - offset - 5 < length) break;
      const body = pending.subarray(offset + 5, offset + 5 + length);
      offset += 5 + length;
      if (kind === 'F') handlers.begin(JSON.parse(body.toString('utf8')));
      else handlers.data(body);
    }
    pending = pending.subarray(offset);
    if (committed) break;
  }
  return committed;
}

function staged() {
  fs.mkdirSync(tmpDir, { recursive: true });
  return path.join(tmpDir, `upload-${process.pid}-${randomBytes(8).toString('hex')}`);
}

/** What is at `rel` now: 'file', 'folder' or null, also when its folder does not exist yet. */
function existingAt(rel) {
  try {
    return resolveTarget(rel).existing;
  } catch (error) {
    if (error.code === 'not_found') return null; // its folder is new: nothing there to clash with
    throw error;
  }
}

/** Many files into folder `dir` (paths below it may name subfolders), all or nothing. */
async function upload(dir, replace) {
  const files = [];
  let current = null;
  try {
    if (!fs.statSync(resolveExisting(dir)).isDirectory()) throw new ToolError('not_a_folder', `"${dir}" is a file, not a folder.`);
    const committed = await readFrames(await openChannel(), {
      begin(header) {
        // The control plane checked these names already; a second look costs nothing.
        const names = String(header.path).split('/');
        if (names.some((name) => name === '' || name === '.' || name === '..' || name.includes('\0'))) {
          throw new ToolError('invalid', `"${header.path}" is not an acceptable path.`);
        }
        const rel = dir ? `${dir}/${header.path}` : header.path;
        current = { rel, temp: staged(), fd: null, size: 0 };
        current.fd = fs.openSync(current.temp, 'wx', 0o644);
        files.push(current);
      },
      data(bytes) {
        fs.writeSync(current.fd, bytes);
        current.size += bytes.length;
      },
      end() {
        fs.closeSync(current.fd);
        current.fd = null;
      },
    });
    if (!committed) throw new ToolError('incomplete', 'The upload ended before all of it arrived; nothing was saved.');
    if (files.length === 0) throw new ToolError('invalid', 'The upload holds no files.');
    // Check everything before renaming anything, so a conflict leaves the workspace as it was.
    const checked = files.map((file) => ({ file, existing: existingAt(file.rel) }));
    const conflicts = checked.filter((entry) => entry.existing === 'folder' || (entry.existing && !replace));
    if (conflicts.length) {
      const first = conflicts[0];
      const code = first.existing === 'folder' ? 'is_a_folder' : 'exists';
      throw Object.assign(new ToolError(code, `${conflicts.length === 1 ? `"${first.file.rel}"` : `${conflicts.length} files, "${first.file.rel}" among them,`} already ${conflicts.length === 1 ? 'exists' : 'exist'}${code === 'is_a_folder' ? ' as a folder' : ''}.`), {
        paths: conflicts.map((entry) => entry.file.rel),
      });
    }
    for (const file of files) {
      const { target } = resolveTarget(file.rel, { makeParents: true });
      if (replace) fs.renameSync(file.temp, target);
      else {
        // link() refuses an existing name, so a file that appeared meanwhile is never overwritten.
        fs.linkSync(file.temp, target);
        fs.unlinkSync(file.temp);
      }
      file.done = true;
    }
    return { files: files.map((file) => ({ path: file.rel, size: file.size })) };
  } finally {
    for (const file of files) {
      if (file.fd !== null) fs.closeSync(file.fd);
      if (!file.done) fs.rmSync(file.temp, { force: true });
    }
  }
}

/**
 * One file sent as a plain request body, no framing: the fast path for big single files. Its length
 * is known up front (Content-Length), so a stream that ends short is a cut-off upload and is dropped.
 */
async function receive(rel, expectedSize, replace) {
  const size = Number(expectedSize);
  // Refused before a byte is sent; folders on the way are made only once the file is whole.
  const clash = (existing) => {
    if (existing === 'folder') throw Object.assign(new ToolError('is_a_folder', `"${rel}" is a folder; a file cannot replace it.`), { paths: [rel] });
    if (existing && !replace) throw Object.assign(new ToolError('exists', `"${rel}" already exists.`), { paths: [rel] });
  };
  clash(existingAt(rel));
  const temp = staged();
  let received = 0;
  try {
    const channel = await openChannel();
    await new Promise((resolve, reject) => {
      const out = fs.createWriteStream(temp, { flags: 'wx', mode: 0o644, highWaterMark: BUFFER_BYTES });
      channel.on('data', (chunk) => (received += chunk.length));
      channel.pipe(out);
      out.on('finish', resolve);
      out.on('error', (error) => {
        // Out of space, say: stop taking bytes now rather than after the whole upload.
        channel.destroy();
        reject(error);
      });
      channel.on('error', reject);
    });
    if (received !== size) throw new ToolError('incomplete', `The upload ended after ${received} of ${size} bytes; nothing was saved.`);
    const { target, existing } = resolveTarget(rel, { makeParents: true });
    clash(existing);
    if (replace) fs.renameSync(temp, target);
    else {
      fs.linkSync(temp, target);
      fs.unlinkSync(temp);
    }
    return { files: [{ path: rel, size }] };
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/** Saves one file's new content, only if it is still the version the editor loaded (If-Match). */
async function save(rel, ifMatch) {
  const { target, existing } = resolveTarget(rel);
  if (existing === 'folder') throw new ToolError('is_a_folder', `"${rel}" is a folder, not a file.`);
  const check = () => {
    if (!ifMatch) return;
    let current = null;
    try {
      current = etagOf(fs.statSync(target));
    } catch {
      // gone
    }
    if (current !== ifMatch) throw new ToolError('changed', `"${rel}" changed since you opened it.`);
  };
  check();
  const temp = staged();
  const fd = fs.openSync(temp, 'wx', 0o644);
  let closed = false;
  try {
    const committed = await readFrames(await openChannel(), {
      begin() {},
      data(bytes) {
        fs.writeSync(fd, bytes);
      },
      end() {},
    });
    fs.closeSync(fd);
    closed = true;
    if (!committed) throw new ToolError('incomplete', 'The save ended before all of it arrived; nothing was changed.');
    check();
    fs.renameSync(temp, target);
    return stat(rel);
  } finally {
    if (!closed) fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
  }
}

/** Left by uploads cut short when the container itself stopped: gone after a day. */
function sweepStaged() {
  try {
    const dayAgo = Date.now() - 24 * 3600_000;
    for (const name of fs.readdirSync(tmpDir)) {
      const full = path.join(tmpDir, name);
      if (fs.statSync(full).mtimeMs < dayAgo) fs.rmSync(full, { recursive: true, force: true });
    }
  } catch {
    // nothing staged yet
  }
}

async function main() {
  switch (op) {
    case 'list':
      return done(list(args[0]));
    case 'stat':
      return done(stat(args[0]));
    case 'read':
      return done(await read(args[0], args[1], args[2]));
    case 'pack':
      return done(await pack(args[0]));
    case 'mkdir':
      return done(mkdir(args[0]));
    case 'delete':
      return done(remove(args[0]));
    case 'move':
    case 'copy':
      return done(transfer(op, args[0], args[1], args[2] === 'replace'));
    case 'upload':
      sweepStaged();
      return done(await upload(args[0], args[1] === 'replace'));
    case 'receive':
      sweepStaged();
      return done(await receive(args[0], args[1], args[2] === 'replace'));
    case 'save':
      return done(await save(args[0], args[1] || null));
    default:
      throw new ToolError('invalid', `unknown operation ${op}`);
  }
}

main().catch(fail);
