/**
 * The files API against what a real workspace can hold and a user can do to it (issue 8): hard
 * links, named pipes, sockets, unreadable files, symlink loops, links out of the workspace and a
 * 100 GB sparse file, in a real runtime container, as its agent's own uid made them.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { WorkspaceToolRunner } from '../../src/files/workspace-tool-runner';
import { LEFT_OUT_NAME } from '../../src/files/zip-stream';
import { createUser, setupAdmin, type SignedIn, type TestPlatform } from '../integration/support/test-platform';
import { containerName, docker, printingLogsOnFailure, removeTestResources, startDockerPlatform } from './support/docker-platform';

jest.setTimeout(600_000);

const WORKSPACE = '/home/node/.openclaw/workspace';
/** A shell command in the runtime as its agent (uid 1000), from the workspace. */
const asAgent = (username: string, script: string) => docker('exec', '-u', '1000', '-w', WORKSPACE, containerName(username), 'sh', '-c', script);

describe('files the way a workspace really holds them', () => {
  let test: TestPlatform;
  let hal: SignedIn;
  let server: http.Server;
  let base: string;
  let cookie: string;
  let scratch: string;

  const post = (url: string, body: object) => hal.agent.post(url).set('X-CSRF-Token', hal.csrfToken).send(body);
  /** A zip through the API, unpacked with Python's zipfile (which checks every CRC): name → bytes. */
  const unzip = async (query: string) => {
    const response = await fetch(`${base}/api/files/archive?${query}`, { headers: { cookie } });
    expect(response.status).toBe(200);
    const file = path.join(scratch, `${Date.now()}.zip`);
    fs.writeFileSync(file, Buffer.from(await response.arrayBuffer()));
    const script = 'import base64, json, sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(json.dumps({i.filename: base64.b64encode(z.read(i)).decode() for i in z.infolist()}))';
    const entries = JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' })) as Record<string, string>;
    return Object.fromEntries(Object.entries(entries).map(([name, content]) => [name, Buffer.from(content, 'base64').toString('utf8')]));
  };

  beforeAll(async () => {
    test = startDockerPlatform();
    server = http.createServer(test.platform.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const admin = await setupAdmin(test);
    hal = await createUser(test, admin, 'hal');
    const login = await fetch(`${base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://localhost:8080' },
      body: JSON.stringify({ username: 'hal', password: 'hal-password' }),
    });
    cookie = login.headers.getSetCookie().map((line) => line.split(';')[0]).join('; ');
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'crewclaw-faults-'));
    // The first files call starts the runtime.
    await post('/api/files/mkdir', { path: 'start' }).expect(201);
  });
  afterAll(() => {
    server?.close();
    test?.close();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
    removeTestResources();
  });

  it('zips hard-linked files with their content, and lists by name what it had to leave out and why', () =>
    printingLogsOnFailure(['hal'], async () => {
      asAgent(
        'hal',
        [
          'mkdir -p kept/sub kept/locked',
          'echo "linked content" > kept/one.txt',
          'ln kept/one.txt kept/two.txt',
          'ln kept/one.txt kept/sub/three.txt',
          'echo plain > kept/plain.txt',
          'mkfifo kept/pipe',
          'echo secret > kept/secret.txt && chmod 000 kept/secret.txt',
          'echo hidden > kept/locked/inner.txt && chmod 000 kept/locked',
          `node -e "require('net').createServer().listen('kept/sock', () => process.exit(0))"`,
        ].join(' && '),
      );
      const entries = await unzip('path=kept');
      expect(entries['kept/one.txt']).toBe('linked content\n');
      expect(entries['kept/two.txt']).toBe('linked content\n');
      expect(entries['kept/sub/three.txt']).toBe('linked content\n');
      expect(entries['kept/plain.txt']).toBe('plain\n');
      const listing = entries[LEFT_OUT_NAME]!;
      expect(listing).toContain('4 entries were left out');
      expect(listing).toContain('"kept/pipe": a named pipe (FIFO)');
      expect(listing).toContain('"kept/sock": a socket');
      expect(listing).toContain('"kept/secret.txt": could not be read (Permission denied)');
      expect(listing).toContain('"kept/locked": could not be read (Permission denied)');
      expect(Object.keys(entries).filter((name) => name.includes('secret') || name.includes('inner'))).toEqual([]);
    }));

  it('copies a folder with a named pipe in it, and a named pipe on its own, as pipes', () =>
    printingLogsOnFailure(['hal'], async () => {
      asAgent('hal', 'mkdir -p piped && mkfifo piped/pipe && echo a > piped/a.txt && ln piped/a.txt piped/b.txt');
      await post('/api/files/copy', { from: 'piped', to: 'piped-copy' }).expect(200);
      expect(asAgent('hal', 'test -p piped-copy/pipe && echo pipe')).toBe('pipe');
      expect(asAgent('hal', 'stat -c %i piped-copy/a.txt piped-copy/b.txt | uniq | wc -l')).toBe('1');
      const alone = await post('/api/files/copy', { from: 'piped/pipe', to: 'pipe-alone' }).expect(200);
      expect(alone.body.file).toMatchObject({ name: 'pipe-alone', type: 'other' });
      expect(asAgent('hal', 'test -p pipe-alone && echo pipe')).toBe('pipe');
      // A copy that cannot be whole is refused whole, naming what stood in the way.
      asAgent('hal', 'mkdir -p half && echo x > half/ok.txt && echo y > half/no.txt && chmod 000 half/no.txt');
      const refused = await post('/api/files/copy', { from: 'half', to: 'half-copy' }).expect(403);
      expect(refused.body.error).toMatchObject({ code: 'permission_denied', message: expect.stringContaining("half/no.txt") });
      expect(asAgent('hal', 'ls -A | grep -c -e half-copy -e crewclaw-copy || true')).toBe('0');
    }));

  it('answers symlink loops and missing permissions with a 4xx that names them, never a 500', () =>
    printingLogsOnFailure(['hal'], async () => {
      asAgent('hal', 'ln -s loop-b loop-a && ln -s loop-a loop-b && mkdir -p shut && echo x > shut/in.txt && chmod 000 shut && echo y > closed.txt && chmod 000 closed.txt');
      // Readable but not searchable: its names can be read, nothing about them.
      asAgent('hal', 'mkdir -p unsearchable && echo z > unsearchable/z.txt && chmod 444 unsearchable');
      const loops = [
        hal.agent.get('/api/files/stat?path=loop-a'),
        hal.agent.get('/api/files?path=loop-a'),
        hal.agent.get('/api/files/content?path=loop-a'),
        hal.agent.get('/api/files/archive?path=loop-a'),
      ];
      for (const response of await Promise.all(loops)) {
        expect([response.status, response.body.error]).toEqual([400, { code: 'symlink_loop', message: expect.stringContaining('"loop-a" goes through a symlink loop') }]);
      }
      const denied = [
        hal.agent.get('/api/files?path=shut'),
        hal.agent.get('/api/files/stat?path=shut/in.txt'),
        hal.agent.get('/api/files/content?path=shut/in.txt'),
        hal.agent.get('/api/files/content?path=closed.txt'),
        hal.agent.get('/api/files/archive?path=shut/in.txt'),
        hal.agent.get('/api/files?path=unsearchable'),
      ];
      for (const response of await Promise.all(denied)) {
        expect([response.status, response.body.error]).toEqual([403, { code: 'permission_denied', message: expect.stringMatching(/no permission to \w+ "(shut|closed\.txt|unsearchable)/) }]);
      }
      // The folder holding them lists as usual.
      const listed = await hal.agent.get('/api/files?path=').expect(200);
      expect(listed.body.entries.map((entry: { name: string }) => entry.name)).toEqual(expect.arrayContaining(['loop-a', 'shut', 'closed.txt']));
    }));

  it('moves and copies a symlink that leads outside, and says so: answer, filesystem and audit log agree', () =>
    printingLogsOnFailure(['hal'], async () => {
      asAgent('hal', 'ln -s /home/node/.openclaw/openclaw.json config-link');
      const copied = await post('/api/files/copy', { from: 'config-link', to: 'start/config-copy' }).expect(200);
      expect(copied.body.file).toMatchObject({ name: 'config-copy', type: 'symlink', linkTarget: '/home/node/.openclaw/openclaw.json' });
      const moved = await post('/api/files/move', { from: 'config-link', to: 'start/config-moved' }).expect(200);
      expect(moved.body.file).toMatchObject({ name: 'config-moved', type: 'symlink', linkTarget: '/home/node/.openclaw/openclaw.json' });
      expect(asAgent('hal', 'readlink start/config-copy start/config-moved; test -e config-link || echo gone')).toBe('/home/node/.openclaw/openclaw.json\n/home/node/.openclaw/openclaw.json\ngone');
      const audit = test.database.sqlite.prepare("SELECT action, result FROM audit_log WHERE action IN ('files.copy', 'files.move') AND detail LIKE '%config-link%'").all();
      expect(audit).toEqual([
        { action: 'files.copy', result: 'success' },
        { action: 'files.move', result: 'success' },
      ]);
      // What the link leads to stays out of reach.
      await hal.agent.get('/api/files/content?path=start/config-moved').expect(400);
    }));

  it('answers HEAD on a 100 GB file from its metadata alone, with the headers GET sends', () =>
    printingLogsOnFailure(['hal'], async () => {
      asAgent('hal', 'truncate -s 100G huge.bin');
      const size = String(100 * 1024 ** 3);
      const outputs = jest.spyOn(WorkspaceToolRunner.prototype, 'openOutput');
      try {
        const head = await fetch(`${base}/api/files/content?path=huge.bin`, { method: 'HEAD', headers: { cookie }, signal: AbortSignal.timeout(20_000) });
        expect(head.status).toBe(200);
        expect(head.headers.get('content-length')).toBe(size);
        const ranged = await fetch(`${base}/api/files/content?path=huge.bin&inline=true`, { method: 'HEAD', headers: { cookie, range: 'bytes=100-199' }, signal: AbortSignal.timeout(20_000) });
        expect(ranged.status).toBe(206);
        expect(ranged.headers.get('content-range')).toBe(`bytes 100-199/${size}`);
        expect(ranged.headers.get('content-length')).toBe('100');
        const beyond = await fetch(`${base}/api/files/content?path=huge.bin`, { method: 'HEAD', headers: { cookie, range: 'bytes=999999999999-' }, signal: AbortSignal.timeout(20_000) });
        expect(beyond.status).toBe(416);
        // No data channel was opened for any of them: nothing of the file was read.
        expect(outputs).not.toHaveBeenCalled();
        // GET answers the same headers, and the bytes.
        const get = await fetch(`${base}/api/files/content?path=huge.bin`, { headers: { cookie, range: 'bytes=0-99' } });
        expect(Buffer.from(await get.arrayBuffer()).equals(Buffer.alloc(100))).toBe(true);
        for (const name of ['etag', 'last-modified', 'content-type', 'content-disposition', 'accept-ranges', 'cache-control']) {
          expect([name, head.headers.get(name)]).toEqual([name, get.headers.get(name)]);
        }
        expect(outputs).toHaveBeenCalledTimes(1);
      } finally {
        outputs.mockRestore();
      }
      // Folders and pipes answer HEAD as they answer GET.
      await hal.agent.head('/api/files/content?path=start').expect(400);
      await hal.agent.head('/api/files/content?path=piped/pipe').expect(400);
      await hal.agent.get('/api/files/content?path=piped/pipe').expect(400);
    }));
});
