/**
 * The workspace tool runs inside runtime containers; its rules do not depend on the container, so
 * they are tested here on a temp folder, fast. The Docker tests run the same file for real.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { COMMIT_FRAME, END_FILE_FRAME, beginFileFrame, dataFrames } from './upload-frames';

const TOOL = path.join(__dirname, 'workspace-tool.cjs');

describe('the workspace tool', () => {
  let home: string;
  let root: string;
  let tmp: string;
  let secret: string;

  const run = (args: string[], input?: Buffer) => {
    const result = spawnSync(process.execPath, [TOOL, root, tmp, ...args], { input, maxBuffer: 64 * 2 ** 20 });
    const out = result.stdout.toString('utf8');
    return { status: result.status, out, json: out.startsWith('{') ? JSON.parse(out) : null };
  };
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

  it('lists a folder with type, size, time, mode and link targets', () => {
    const { json } = run(['list', '']);
    const byName = Object.fromEntries(json.entries.map((entry: { name: string }) => [entry.name, entry]));
    expect(byName['notes.txt']).toMatchObject({ type: 'file', size: 5, mode: '0644' });
    expect(byName.docs).toMatchObject({ type: 'folder' });
    expect(byName['escape-file']).toMatchObject({ type: 'symlink', linkTarget: secret });
    expect(Date.parse(byName['notes.txt'].modifiedAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('never reads through a symlink that leads outside, but follows one that stays inside', () => {
    expect(run(['read', 'escape-file', '0']).json.error.code).toBe('outside');
    expect(run(['list', 'escape-dir']).json.error.code).toBe('outside');
    expect(run(['stat', 'escape-dir/openclaw.json']).json.error.code).toBe('outside');
    expect(run(['read', 'inside-link', '0']).out).toBe('hello');
    expect(run(['read', 'notes.txt', '1', '3']).out).toBe('ell');
  });

  it('never writes through a symlink that leads outside', () => {
    expect(upload('escape-dir', [['x.txt', 'x']]).json.error.code).toBe('outside');
    expect(upload('', [['escape-dir/x.txt', 'x']]).json.error.code).toBe('outside');
    expect(upload('', [['escape-file', 'overwrite']], { replace: true }).json.error.code).toBe('symlink');
    expect(run(['mkdir', 'escape-dir/new']).json.error.code).toBe('outside');
    expect(run(['move', 'notes.txt', 'escape-dir/notes.txt']).json.error.code).toBe('outside');
    expect(fs.readFileSync(secret, 'utf8')).toBe('runtime token');
    expect(fs.readdirSync(home).sort()).toEqual(['.crewclaw-tmp', 'openclaw.json', 'workspace']);
  });

  it('lands an upload whole, with its folders, or not at all', () => {
    expect(upload('docs', [['a.txt', 'A'], ['deep/er/b.txt', 'B']]).json).toEqual({ files: [{ path: 'docs/a.txt', size: 1 }, { path: 'docs/deep/er/b.txt', size: 1 }] });
    expect(fs.readFileSync(path.join(root, 'docs/deep/er/b.txt'), 'utf8')).toBe('B');
    const before = visible();
    // Cut off before the commit: nothing new, nothing staged left behind.
    expect(upload('', [['c.txt', 'C']], { commit: false }).json.error.code).toBe('incomplete');
    // One conflict refuses the whole request.
    const conflict = upload('', [['fresh.txt', 'F'], ['notes.txt', 'N']]).json.error;
    expect(conflict).toMatchObject({ code: 'exists', paths: ['notes.txt'] });
    expect(visible()).toEqual(before);
    expect(fs.readdirSync(tmp)).toEqual([]);
    // Replacing is asked for explicitly; a folder is never replaced by a file.
    expect(upload('', [['notes.txt', 'new']], { replace: true }).status).toBe(0);
    expect(fs.readFileSync(path.join(root, 'notes.txt'), 'utf8')).toBe('new');
    expect(upload('', [['docs', 'x']], { replace: true }).json.error.code).toBe('is_a_folder');
    expect(upload('notes.txt', [['x', 'x']]).json.error.code).toBe('not_a_folder');
    expect(upload('', [['../x', 'x']]).json.error.code).toBe('invalid');
  });

  it('takes one file as a plain body, and drops it when fewer bytes came than announced', () => {
    expect(run(['receive', 'docs/raw.bin', '5', 'keep'], Buffer.from('12345')).json).toEqual({ files: [{ path: 'docs/raw.bin', size: 5 }] });
    expect(fs.readFileSync(path.join(root, 'docs/raw.bin'), 'utf8')).toBe('12345');
    expect(run(['receive', 'docs/short.bin', '10', 'keep'], Buffer.from('123')).json.error.code).toBe('incomplete');
    expect(fs.existsSync(path.join(root, 'docs/short.bin'))).toBe(false);
    expect(run(['receive', 'docs/raw.bin', '1', 'keep'], Buffer.from('x')).json.error.code).toBe('exists');
    expect(run(['receive', 'escape-dir/raw.bin', '1', 'keep'], Buffer.from('x')).json.error.code).toBe('outside');
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  it('saves an edit only over the version the editor loaded', () => {
    const { etag } = run(['stat', 'notes.txt']).json;
    const body = (text: string) => Buffer.concat([...dataFrames(Buffer.from(text)), COMMIT_FRAME]);
    expect(run(['save', 'notes.txt', etag], body('first edit')).json.etag).not.toBe(etag);
    expect(run(['save', 'notes.txt', etag], body('stale edit')).json.error.code).toBe('changed');
    expect(fs.readFileSync(path.join(root, 'notes.txt'), 'utf8')).toBe('first edit');
  });

  it('moves, copies and deletes inside the workspace, refusing clashes unless asked', () => {
    expect(run(['copy', 'notes.txt', 'docs/copy.txt']).status).toBe(0);
    expect(run(['copy', 'notes.txt', 'docs/copy.txt']).json.error.code).toBe('exists');
    expect(run(['move', 'docs', 'docs/inner']).json.error.code).toBe('invalid');
    expect(run(['move', 'docs', 'papers']).status).toBe(0);
    expect(fs.readFileSync(path.join(root, 'papers/copy.txt'), 'utf8')).toBe('hello');
    // Deleting a symlink deletes the link, never its target.
    expect(run(['delete', 'escape-dir']).status).toBe(0);
    expect(fs.existsSync(secret)).toBe(true);
    expect(run(['delete', 'papers']).status).toBe(0);
    expect(run(['delete', 'papers']).json.error.code).toBe('not_found');
    expect(run(['delete', '']).json.error.code).toBe('invalid');
    expect(run(['mkdir', 'a/b/c']).json).toMatchObject({ type: 'folder' });
    expect(run(['mkdir', 'a/b/c']).json.error.code).toBe('exists');
  });
});
