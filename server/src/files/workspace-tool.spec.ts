/**
 * The workspace tool runs inside runtime containers; its rules do not depend on the container, so
 * they are tested here on a temp folder, fast. The Docker tests run the same file for real.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net, { type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { channelToken, connectChannel } from './data-channel';
import { COMMIT_FRAME, END_FILE_FRAME, beginFileFrame, dataFrames } from './upload-frames';

const TOOL = path.join(__dirname, 'workspace-tool.cjs');

describe('the workspace tool', () => {
  let home: string;
  let root: string;
  let tmp: string;
  let secret: string;

  /**
   * Runs the tool as the control plane does: the token on stdin; when it announces a data channel,
   * connects over loopback, sends `input` and keeps what comes back (`out`); `json` is its answer.
   */
  const run = (args: string[], input?: Buffer) =>
    new Promise<{ status: number | null; out: string; bytes: Buffer; json: ReturnType<typeof JSON.parse> }>((resolve, reject) => {
      const child = spawn(process.execPath, [TOOL, root, tmp, ...args]);
      const token = channelToken();
      child.stdin.on('error', () => undefined);
      child.stdin.end(`${token.toString('hex')}\n`);
      let stdout = '';
      let announced = false;
      const received: Buffer[] = [];
      let channelDone: Promise<void> = Promise.resolve();
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        const newline = stdout.indexOf('\n');
        if (announced || newline === -1) return;
        announced = true;
        const { channel: port } = JSON.parse(stdout.slice(0, newline)) as { channel: number };
        stdout = stdout.slice(newline + 1);
        channelDone = connectChannel('127.0.0.1', port, token).then(
          (socket) =>
            new Promise<void>((done) => {
              socket.on('data', (data: Buffer) => received.push(data));
              socket.once('close', () => done());
              socket.end(input ?? Buffer.alloc(0));
            }),
        );
      });
      child.once('error', reject);
      child.once('close', (status) => {
        void channelDone.then(() => {
          const bytes = Buffer.concat(received);
          const out = announced ? bytes.toString('utf8') : stdout;
          resolve({ status, out, bytes, json: stdout.startsWith('{') ? JSON.parse(stdout) : null });
        }, reject);
      });
    });
  const upload = (dir: string, files: [string, string][], options: { replace?: boolean; commit?: boolean } = {}) => {
    const frames: Buffer[] = [];
    for (const [name, content] of files) frames.push(beginFileFrame(name), ...dataFrames(Buffer.from(content)), END_FILE_FRAME);
    if (options.commit !== false) frames.push(COMMIT_FRAME);
    return run(['upload', dir, options.replace ? 'replace' : 'keep'], Buffer.concat(frames));
  };
  const visible = () => fs.readdirSync(root, { recursive: true }).map(String).sort();

  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'crewclaw-tool-'));
    root = path.join(home, 'workspace');
    tmp = path.join(home, '.crewclaw-tmp');
    secret = path.join(home, 'openclaw.json');
    fs.mkdirSync(root);
    fs.writeFileSync(secret, 'runtime token');
    fs.writeFileSync(path.join(root, 'notes.txt'), 'hello');
    fs.mkdirSync(path.join(root, 'docs'));
    fs.symlinkSync(secret, path.join(root, 'escape-file'));
    fs.symlinkSync(home, path.join(root, 'escape-dir'));
    fs.symlinkSync('notes.txt', path.join(root, 'inside-link'));
  });
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  it('lists a folder with type, size, time, mode and link targets', async () => {
    const { json } = await run(['list', '']);
    const byName = Object.fromEntries(json.entries.map((entry: { name: string }) => [entry.name, entry]));
    expect(byName['notes.txt']).toMatchObject({ type: 'file', size: 5, mode: '0644' });
    expect(byName.docs).toMatchObject({ type: 'folder' });
    expect(byName['escape-file']).toMatchObject({ type: 'symlink', linkTarget: secret });
    expect(Date.parse(byName['notes.txt'].modifiedAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('never reads through a symlink that leads outside, but follows one that stays inside', async () => {
    expect((await run(['read', 'escape-file', '0'])).json.error.code).toBe('outside');
    expect((await run(['list', 'escape-dir'])).json.error.code).toBe('outside');
    expect((await run(['stat', 'escape-dir/openclaw.json'])).json.error.code).toBe('outside');
    expect((await run(['read', 'inside-link', '0'])).out).toBe('hello');
    expect((await run(['read', 'notes.txt', '1', '3'])).out).toBe('ell');
  });

  it('never writes through a symlink that leads outside', async () => {
    expect((await upload('escape-dir', [['x.txt', 'x']])).json.error.code).toBe('outside');
    expect((await upload('', [['escape-dir/x.txt', 'x']])).json.error.code).toBe('outside');
    expect((await upload('', [['escape-file', 'overwrite']], { replace: true })).json.error.code).toBe('symlink');
    expect((await run(['mkdir', 'escape-dir/new'])).json.error.code).toBe('outside');
    expect((await run(['move', 'notes.txt', 'escape-dir/notes.txt'])).json.error.code).toBe('outside');
    expect(fs.readFileSync(secret, 'utf8')).toBe('runtime token');
    expect(fs.readdirSync(home).sort()).toEqual(['.crewclaw-tmp', 'openclaw.json', 'workspace']);
  });

  it('lands an upload whole, with its folders, or not at all', async () => {
    expect((await upload('docs', [['a.txt', 'A'], ['deep/er/b.txt', 'B']])).json).toEqual({ files: [{ path: 'docs/a.txt', size: 1 }, { path: 'docs/deep/er/b.txt', size: 1 }] });
    expect(fs.readFileSync(path.join(root, 'docs/deep/er/b.txt'), 'utf8')).toBe('B');
    const before = visible();
    // Cut off before the commit: nothing new, nothing staged left behind.
    expect((await upload('', [['c.txt', 'C']], { commit: false })).json.error.code).toBe('incomplete');
    // One conflict refuses the whole request.
    const conflict = (await upload('', [['fresh.txt', 'F'], ['notes.txt', 'N']])).json.error;
    expect(conflict).toMatchObject({ code: 'exists', paths: ['notes.txt'] });
    expect(visible()).toEqual(before);
    expect(fs.readdirSync(tmp)).toEqual([]);
    // Replacing is asked for explicitly; a folder is never replaced by a file.
    expect((await upload('', [['notes.txt', 'new']], { replace: true })).status).toBe(0);
    expect(fs.readFileSync(path.join(root, 'notes.txt'), 'utf8')).toBe('new');
    expect((await upload('', [['docs', 'x']], { replace: true })).json.error.code).toBe('is_a_folder');
    expect((await upload('notes.txt', [['x', 'x']])).json.error.code).toBe('not_a_folder');
    expect((await upload('', [['../x', 'x']])).json.error.code).toBe('invalid');
  });

  it('takes one file as a plain body, and drops it when fewer bytes came than announced', async () => {
    expect((await run(['receive', 'docs/raw.bin', '5', 'keep'], Buffer.from('12345'))).json).toEqual({ files: [{ path: 'docs/raw.bin', size: 5 }] });
    expect(fs.readFileSync(path.join(root, 'docs/raw.bin'), 'utf8')).toBe('12345');
    expect((await run(['receive', 'docs/short.bin', '10', 'keep'], Buffer.from('123'))).json.error.code).toBe('incomplete');
    expect(fs.existsSync(path.join(root, 'docs/short.bin'))).toBe(false);
    expect((await run(['receive', 'docs/raw.bin', '1', 'keep'], Buffer.from('x'))).json.error.code).toBe('exists');
    expect((await run(['receive', 'escape-dir/raw.bin', '1', 'keep'], Buffer.from('x'))).json.error.code).toBe('outside');
    // Folders on the way are made, but only for a file that arrived whole.
    expect((await run(['receive', 'new/deeper/short.bin', '10', 'keep'], Buffer.from('123'))).json.error.code).toBe('incomplete');
    expect(fs.existsSync(path.join(root, 'new'))).toBe(false);
    expect((await run(['receive', 'new/deeper/raw.bin', '3', 'keep'], Buffer.from('123'))).json).toEqual({ files: [{ path: 'new/deeper/raw.bin', size: 3 }] });
    expect((await run(['receive', 'docs', '1', 'replace'], Buffer.from('x'))).json.error).toMatchObject({ code: 'is_a_folder', paths: ['docs'] });
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  it('saves an edit only over the version the editor loaded', async () => {
    const { etag } = (await run(['stat', 'notes.txt'])).json;
    const body = (text: string) => Buffer.concat([...dataFrames(Buffer.from(text)), COMMIT_FRAME]);
    expect((await run(['save', 'notes.txt', etag], body('first edit'))).json.etag).not.toBe(etag);
    expect((await run(['save', 'notes.txt', etag], body('stale edit'))).json.error.code).toBe('changed');
    expect(fs.readFileSync(path.join(root, 'notes.txt'), 'utf8')).toBe('first edit');
  });

  it('moves, copies and deletes inside the workspace, refusing clashes unless asked', async () => {
    expect((await run(['copy', 'notes.txt', 'docs/copy.txt'])).status).toBe(0);
    expect((await run(['copy', 'notes.txt', 'docs/copy.txt'])).json.error.code).toBe('exists');
    expect((await run(['move', 'docs', 'docs/inner'])).json.error.code).toBe('invalid');
    expect((await run(['move', 'docs', 'papers'])).status).toBe(0);
    expect(fs.readFileSync(path.join(root, 'papers/copy.txt'), 'utf8')).toBe('hello');
    // Deleting a symlink deletes the link, never its target.
    expect((await run(['delete', 'escape-dir'])).status).toBe(0);
    expect(fs.existsSync(secret)).toBe(true);
    expect((await run(['delete', 'papers'])).status).toBe(0);
    expect((await run(['delete', 'papers'])).json.error.code).toBe('not_found');
    expect((await run(['delete', ''])).json.error.code).toBe('invalid');
    expect((await run(['mkdir', 'a/b/c'])).json).toMatchObject({ type: 'folder' });
    expect((await run(['mkdir', 'a/b/c'])).json.error.code).toBe('exists');
  });

  it('packs a file or folder as a tar named by its last segment, symlinks kept as links', async () => {
    const docs = await run(['pack', '']);
    expect(docs.json).toEqual({ sent: true, leftOut: [], moreLeftOut: 0 });
    const listing = spawnSync('tar', ['-tvf', '-'], { input: docs.bytes }).stdout.toString('utf8');
    expect(listing).toMatch(/ workspace\/notes\.txt\n/);
    expect(listing).toMatch(/ workspace\/escape-file -> /);
    // Every byte packed, contents included: nothing from outside (the secret) came along.
    const contents = spawnSync('tar', ['-xOf', '-'], { input: docs.bytes }).stdout.toString('utf8');
    expect(contents).toContain('hello');
    expect(contents).not.toContain('runtime token');
    const single = await run(['pack', 'notes.txt']);
    expect(spawnSync('tar', ['-xOf', '-', 'notes.txt'], { input: single.bytes }).stdout.toString('utf8')).toBe('hello');
    expect((await run(['pack', 'escape-dir'])).json.error.code).toBe('outside');
    expect((await run(['pack', 'missing'])).json.error.code).toBe('not_found');
  });

  it('packs a name with escapes as it is, never as the path tar would read into it', async () => {
    // "\\057" is how tar writes "/": unquoted, this name would be "../openclaw.json", outside.
    const tricky = '..\\057openclaw.json';
    fs.writeFileSync(path.join(root, tricky), 'inside');
    fs.symlinkSync(tricky, path.join(root, 'report'));
    const packed = await run(['pack', 'report']);
    expect(packed.json).toEqual({ sent: true, leftOut: [], moreLeftOut: 0 });
    expect(spawnSync('tar', ['-tf', '-', '--quoting-style=literal'], { input: packed.bytes }).stdout.toString('utf8').trim()).toBe(tricky);
    expect(spawnSync('tar', ['-xOf', '-'], { input: packed.bytes }).stdout.toString('utf8')).toBe('inside');
  });

  it('packs hard-linked files as the files they are, each with its content', async () => {
    fs.mkdirSync(path.join(root, 'linked'));
    fs.writeFileSync(path.join(root, 'linked/one.txt'), 'same bytes');
    fs.linkSync(path.join(root, 'linked/one.txt'), path.join(root, 'linked/two.txt'));
    const packed = await run(['pack', 'linked']);
    // A zip has no hard links: a link entry here would leave the zip without one of the two.
    expect(spawnSync('tar', ['-tvf', '-'], { input: packed.bytes }).stdout.toString('utf8')).not.toMatch(/link to/);
    for (const name of ['linked/one.txt', 'linked/two.txt']) {
      expect(spawnSync('tar', ['-xOf', '-', name], { input: packed.bytes }).stdout.toString('utf8')).toBe('same bytes');
    }
  });

  it('names what tar left out, whatever the name, and packs the rest', async () => {
    const odd = 'odd: name\\with\nnewline 项目';
    fs.mkdirSync(path.join(root, 'mixed'));
    fs.writeFileSync(path.join(root, 'mixed/kept.txt'), 'kept');
    const sockets = await Promise.all(
      ['socket', odd].map(
        (name) =>
          new Promise<net.Server>((resolve) => {
            const server = net.createServer();
            server.listen(path.join(root, 'mixed', name), () => resolve(server));
          }),
      ),
    );
    try {
      const packed = await run(['pack', 'mixed']);
      expect(packed.json.leftOut).toEqual(
        expect.arrayContaining([
          { path: 'mixed/socket', reason: 'a socket: it has no content of its own' },
          { path: `mixed/${odd}`, reason: 'a socket: it has no content of its own' },
        ]),
      );
      expect(spawnSync('tar', ['-xOf', '-', 'mixed/kept.txt'], { input: packed.bytes }).stdout.toString('utf8')).toBe('kept');
    } finally {
      for (const server of sockets) server.close();
    }
  });

  it('says a symlink loop is one, on every operation that follows links', async () => {
    fs.symlinkSync('loop-b', path.join(root, 'loop-a'));
    fs.symlinkSync('loop-a', path.join(root, 'loop-b'));
    for (const args of [['stat', 'loop-a'], ['list', 'loop-a'], ['read', 'loop-a', '0', ''], ['pack', 'loop-a'], ['list', 'loop-a/inner']]) {
      const { json } = await run(args);
      expect([args, json.error]).toEqual([args, { code: 'symlink_loop', message: expect.stringContaining('"loop-a') }]);
    }
    // Listing the folder that holds the loop is fine: the loop is shown as the link it is.
    expect((await run(['list', ''])).json.entries).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'loop-a', type: 'symlink', linkTarget: 'loop-b' })]));
  });

  it('copies named pipes, hard links and symlinks in a folder as what they are; a pipe on its own too', async () => {
    fs.mkdirSync(path.join(root, 'special'));
    spawnSync('mkfifo', [path.join(root, 'special/pipe')]);
    fs.writeFileSync(path.join(root, 'special/one.txt'), 'one');
    fs.linkSync(path.join(root, 'special/one.txt'), path.join(root, 'special/two.txt'));
    fs.symlinkSync('one.txt', path.join(root, 'special/link'));
    expect((await run(['copy', 'special', 'special-copy'])).json).toMatchObject({ path: 'special-copy', type: 'folder' });
    const copied = (name: string) => fs.lstatSync(path.join(root, 'special-copy', name));
    expect(copied('pipe').isFIFO()).toBe(true);
    expect(copied('link').isSymbolicLink()).toBe(true);
    expect(copied('two.txt').ino).toBe(copied('one.txt').ino);
    expect(copied('one.txt').ino).not.toBe(fs.statSync(path.join(root, 'special/one.txt')).ino);
    expect((await run(['copy', 'special/pipe', 'pipe-copy'])).json).toMatchObject({ path: 'pipe-copy', type: 'other' });
    expect(fs.lstatSync(path.join(root, 'pipe-copy')).isFIFO()).toBe(true);
    // Nothing staged is left beside the copies.
    expect(fs.readdirSync(root).filter((name) => name.startsWith('.crewclaw-copy'))).toEqual([]);
  });

  it('moves and copies a symlink that leads outside as the link it is, and says so', async () => {
    const copied = await run(['copy', 'escape-file', 'docs/copied-link']);
    expect(copied.json).toMatchObject({ path: 'docs/copied-link', type: 'symlink', linkTarget: secret });
    const moved = await run(['move', 'escape-dir', 'docs/moved-link']);
    expect(moved.json).toMatchObject({ path: 'docs/moved-link', type: 'symlink', linkTarget: home });
    expect(fs.readlinkSync(path.join(root, 'docs/moved-link'))).toBe(home);
    expect(fs.existsSync(path.join(root, 'escape-dir'))).toBe(false);
    // Reading through them stays refused.
    expect((await run(['read', 'docs/copied-link', '0', ''])).json.error.code).toBe('outside');
    expect((await run(['list', 'docs/moved-link'])).json.error.code).toBe('outside');
  });

  it('reads exactly the bytes asked for, or fails; never a FIFO', async () => {
    expect((await run(['read', 'notes.txt', '0', '99'])).json.error.code).toBe('changed');
    expect((await run(['read', 'notes.txt', '0', '4'])).out).toBe('hello');
    spawnSync('mkfifo', [path.join(root, 'pipe')]);
    expect((await run(['read', 'pipe', '0', ''])).json.error.code).toBe('invalid');
  });

  it('hands its data channel only to whoever presents the token from its stdin', async () => {
    const child = spawn(process.execPath, [TOOL, root, tmp, 'read', 'notes.txt', '0']);
    const token = channelToken();
    child.stdin.end(`${token.toString('hex')}\n`);
    const [announcement] = (await once(child.stdout, 'data')) as [Buffer];
    const { channel: port } = JSON.parse(announcement.toString('utf8')) as { channel: number };
    const readAll = async (socket: Socket) => {
      const chunks: Buffer[] = [];
      for await (const chunk of socket) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    };
    expect(await readAll(await connectChannel('127.0.0.1', port, channelToken()))).toBe('');
    expect(await readAll(await connectChannel('127.0.0.1', port, token))).toBe('hello');
    await once(child, 'close');
    expect(child.exitCode).toBe(0);
  });
});
