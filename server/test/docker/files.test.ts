/**
 * The files API against real runtime containers: byte-exact round trips, zips unpacked and
 * compared, the whole bad-input list, and uploads racing other users and restarts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { parse as parseDisposition } from 'content-disposition';
import { createUser, setupAdmin, type SignedIn, type TestPlatform } from '../integration/support/test-platform';
import { containerName, docker, printingLogsOnFailure, removeTestResources, startDockerPlatform, until } from './support/docker-platform';

jest.setTimeout(900_000);

const WORKSPACE = '/home/node/.openclaw/workspace';
/** Above the 100 MB round trip, low enough to go past cheaply. */
const UPLOAD_LIMIT = 120 * 1024 * 1024;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const inRuntime = (username: string, ...command: string[]) => docker('exec', containerName(username), ...command);

describe('a user\'s files, in their real runtime', () => {
  let test: TestPlatform;
  let admin: SignedIn;
  let fay: SignedIn;
  let gus: SignedIn;
  let server: http.Server;
  let base: string;
  let scratch: string;

  /** Raw HTTP sessions (fetch, http.request): for bodies supertest would buffer, or cut off on purpose. */
  const raw = new Map<string, { cookie: string; csrfToken: string }>();
  const rawSignIn = async (username: string) => {
    const response = await fetch(`${base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://localhost:8080' },
      body: JSON.stringify({ username, password: `${username}-password` }),
    });
    const { csrfToken } = (await response.json()) as { csrfToken: string };
    raw.set(username, { cookie: response.headers.getSetCookie().map((line) => line.split(';')[0]).join('; '), csrfToken });
  };
  const cookieOf = (who: SignedIn) => raw.get(who.user.username)!.cookie;

  const uploadForm = (files: { name: string; content: Buffer }[]) => {
    const boundary = `----crewclaw${randomBytes(8).toString('hex')}`;
    const parts: Buffer[] = [];
    for (const file of files) {
      parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${file.name}"\r\nContent-Type: application/octet-stream\r\n\r\n`, 'utf8'), file.content, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from(`--${boundary}--\r\n`));
    return { boundary, body: Buffer.concat(parts) };
  };

  const upload = (who: SignedIn, dir: string, files: { name: string; content: Buffer }[], replace = false) => {
    const { boundary, body } = uploadForm(files);
    return who.agent
      .post(`/api/files/upload?path=${encodeURIComponent(dir)}${replace ? '&replace=true' : ''}`)
      .set('X-CSRF-Token', who.csrfToken)
      .set('Content-Type', `multipart/form-data; boundary=${boundary}`)
      .send(body);
  };

  const download = async (who: SignedIn, file: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${base}/api/files/content?path=${encodeURIComponent(file)}`, { headers: { cookie: cookieOf(who), ...headers } });
    return { response, body: Buffer.from(await response.arrayBuffer()) };
  };

  beforeAll(async () => {
    test = startDockerPlatform({ MAX_UPLOAD_BYTES: String(UPLOAD_LIMIT) });
    server = http.createServer(test.platform.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    admin = await setupAdmin(test);
    fay = await createUser(test, admin, 'fay');
    gus = await createUser(test, admin, 'gus');
    await rawSignIn('fay');
    await rawSignIn('gus');
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'crewclaw-files-'));
  });
  afterAll(() => {
    server.close();
    test.close();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
    removeTestResources();
  });

  it('starts a stopped runtime for the first call and lists the workspace, folders first', () =>
    printingLogsOnFailure(['fay'], async () => {
      await fay.agent.get('/api/runtime').expect((response) => expect(response.body.runtime.state).toBe('absent'));
      await fay.agent.post('/api/files/mkdir').set('X-CSRF-Token', fay.csrfToken).send({ path: 'zeta' }).expect(201);
      await upload(fay, '', [{ name: '.hidden', content: Buffer.from('h') }, { name: 'alpha.txt', content: Buffer.from('a') }]).expect(201);
      const listed = await fay.agent.get('/api/files?path=').expect(200);
      const names = listed.body.entries.map((entry: { name: string }) => entry.name);
      expect(names.indexOf('zeta')).toBeLessThan(names.indexOf('.hidden'));
      expect(names).toEqual(expect.arrayContaining(['.hidden', 'alpha.txt', 'zeta']));
      const alpha = listed.body.entries.find((entry: { name: string }) => entry.name === 'alpha.txt');
      expect(alpha).toMatchObject({ type: 'file', size: 1, mode: '0644' });
      expect(Date.parse(alpha.modifiedAt)).toBeGreaterThan(Date.now() - 600_000);
      // Written as the agent's own user, so the agent can change it.
      expect(inRuntime('fay', 'stat', '-c', '%u:%g', `${WORKSPACE}/alpha.txt`)).toBe('1000:1000');
    }));

  it('round-trips 0 bytes, 1 byte and 100 MB byte for byte, with ranges', () =>
    printingLogsOnFailure(['fay'], async () => {
      const big = randomBytes(100 * 1024 * 1024);
      const cases = [
        { name: 'empty.bin', content: Buffer.alloc(0) },
        { name: 'one.bin', content: Buffer.from([0x2a]) },
        { name: 'big.bin', content: big },
      ];
      // Into a folder that does not exist: a clear 404, nothing made.
      await upload(fay, 'sizes', [cases[1]!]).expect(404);
      await fay.agent.post('/api/files/mkdir').set('X-CSRF-Token', fay.csrfToken).send({ path: 'sizes' }).expect(201);
      for (const file of cases) {
        await upload(fay, 'sizes', [file]).expect(201);
        const { response, body } = await download(fay, `sizes/${file.name}`);
        expect(response.status).toBe(200);
        expect(response.headers.get('content-length')).toBe(String(file.content.length));
        expect(sha256(body)).toBe(sha256(file.content));
      }
      const partial = await download(fay, 'sizes/big.bin', { range: 'bytes=1000-1999' });
      expect(partial.response.status).toBe(206);
      expect(partial.response.headers.get('content-range')).toBe(`bytes 1000-1999/${big.length}`);
      expect(partial.body.equals(big.subarray(1000, 2000))).toBe(true);
      const beyond = await download(fay, 'sizes/big.bin', { range: `bytes=${big.length + 10}-` });
      expect(beyond.response.status).toBe(416);
    }));

  it('takes a single file as the plain request body, byte for byte, and drops one cut short', () =>
    printingLogsOnFailure(['fay'], async () => {
      const content = randomBytes(20 * 1024 * 1024);
      const post = (query: string, body: Buffer | string, type = 'application/octet-stream') =>
        fay.agent.post(`/api/files/upload?${query}`).set('X-CSRF-Token', fay.csrfToken).set('Content-Type', type).send(body);
      expect((await post('path=sizes&name=raw.bin', content).expect(201)).body.files).toEqual([{ path: 'sizes/raw.bin', size: content.length }]);
      expect(sha256((await download(fay, 'sizes/raw.bin')).body)).toBe(sha256(content));
      // JSON is a file like any other here, never parsed.
      await post('path=sizes&name=raw.json', '{"kept": "as sent"}', 'application/json').expect(201);
      expect((await download(fay, 'sizes/raw.json')).body.toString()).toBe('{"kept": "as sent"}');
      await post('path=sizes&name=raw.bin', 'x').expect(409);
      await post('path=sizes', 'x').expect(400);
      await post('path=sizes&name=../escape.bin', 'x').expect(400);
      // Announced 2 MiB, sent 1 MiB, then the connection closed.
      await new Promise<void>((resolve) => {
        const request = http.request(`${base}/api/files/upload?path=sizes&name=cut-raw.bin`, {
          method: 'POST',
          headers: { cookie: cookieOf(fay), 'x-csrf-token': raw.get('fay')!.csrfToken, origin: 'http://localhost:8080', 'content-type': 'application/octet-stream', 'content-length': String(2 * 1024 * 1024) },
        });
        request.on('error', () => resolve());
        request.write(randomBytes(1024 * 1024), () => setTimeout(() => {
          request.destroy();
          resolve();
        }, 500));
      });
      await new Promise((resolve) => setTimeout(resolve, 2000));
      await fay.agent.get('/api/files/content?path=sizes/cut-raw.bin').expect(404);
      // Over the limit by its announced length: refused before a byte is read.
      const tooBig = await new Promise<number>((resolve, reject) => {
        const request = http.request(`${base}/api/files/upload?path=sizes&name=huge.bin`, {
          method: 'POST',
          headers: { cookie: cookieOf(fay), 'x-csrf-token': raw.get('fay')!.csrfToken, origin: 'http://localhost:8080', 'content-type': 'application/octet-stream', 'content-length': String(UPLOAD_LIMIT + 1) },
        });
        request.on('response', (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
          request.destroy();
        });
        request.on('error', reject);
        request.flushHeaders();
      });
      expect(tooBig).toBe(413);
    }));

  it('keeps Chinese and emoji names with spaces, in listings, downloads and zips', () =>
    printingLogsOnFailure(['fay'], async () => {
      const name = '项目 计划 🚀 v2.txt';
      await upload(fay, '', [{ name, content: Buffer.from('计划内容') }]).expect(201);
      const listed = await fay.agent.get('/api/files?path=').expect(200);
      expect(listed.body.entries.map((entry: { name: string }) => entry.name)).toContain(name);
      const { response, body } = await download(fay, name);
      expect(body.toString('utf8')).toBe('计划内容');
      expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(parseDisposition(response.headers.get('content-disposition')!).parameters.filename).toBe(name);
    }));

  it('uploads a folder of 1,000 small files with their paths, and zips it back identical', () =>
    printingLogsOnFailure(['fay'], async () => {
      const files = Array.from({ length: 1000 }, (_, index) => ({ name: `tree/d${index % 10}/f${index}.txt`, content: randomBytes(200 + (index % 50)) }));
      const uploaded = await upload(fay, '', files).expect(201);
      expect(uploaded.body.files).toHaveLength(1000);
      const zip = await fetch(`${base}/api/files/archive?path=tree&path=alpha.txt`, { headers: { cookie: cookieOf(fay) } });
      expect(zip.status).toBe(200);
      expect(zip.headers.get('content-type')).toBe('application/zip');
      const zipFile = path.join(scratch, 'tree.zip');
      fs.writeFileSync(zipFile, Buffer.from(await zip.arrayBuffer()));
      const out = path.join(scratch, 'unzipped');
      execFileSync('python3', ['-m', 'zipfile', '-e', zipFile, out]);
      for (const file of files) expect(sha256(fs.readFileSync(path.join(out, file.name)))).toBe(sha256(file.content));
      expect(fs.readFileSync(path.join(out, 'alpha.txt'), 'utf8')).toBe('a');
    }));

  it('replaces an existing file only when asked, and never a folder', () =>
    printingLogsOnFailure(['fay'], async () => {
      const conflict = await upload(fay, '', [{ name: 'alpha.txt', content: Buffer.from('new') }]).expect(409);
      expect(conflict.body.error).toMatchObject({ code: 'exists', fields: [{ field: 'alpha.txt', message: 'already exists' }] });
      expect((await download(fay, 'alpha.txt')).body.toString()).toBe('a');
      await upload(fay, '', [{ name: 'alpha.txt', content: Buffer.from('new') }], true).expect(201);
      expect((await download(fay, 'alpha.txt')).body.toString()).toBe('new');
      await upload(fay, '', [{ name: 'zeta', content: Buffer.from('x') }], true).expect(400);
    }));

  it('saves text edits with ETags so two editors cannot overwrite each other', () =>
    printingLogsOnFailure(['fay'], async () => {
      const { response } = await download(fay, 'alpha.txt');
      const etag = response.headers.get('etag')!;
      const save = (body: string, headers: Record<string, string>) =>
        fay.agent.put('/api/files/content?path=alpha.txt').set('X-CSRF-Token', fay.csrfToken).set('Content-Type', 'text/plain').set(headers).send(body);
      const first = await save('first editor', { 'If-Match': etag }).expect(200);
      expect(first.headers.etag).not.toBe(etag);
      const second = await save('second editor', { 'If-Match': etag }).expect(412);
      expect(second.body.error.code).toBe('precondition_failed');
      await save('no precondition', {}).expect(428);
      expect((await download(fay, 'alpha.txt')).body.toString()).toBe('first editor');
      // JSON content is saved as sent, not parsed.
      await fay.agent.put('/api/files/content?path=data.json').set('X-CSRF-Token', fay.csrfToken).set('Content-Type', 'application/json').set('If-None-Match', '*').send('{"a": 1}').expect(200);
      expect((await download(fay, 'data.json')).body.toString()).toBe('{"a": 1}');
    }));

  it('moves, copies and deletes, folders recursively', () =>
    printingLogsOnFailure(['fay'], async () => {
      const post = (url: string, body: object) => fay.agent.post(url).set('X-CSRF-Token', fay.csrfToken).send(body);
      await post('/api/files/copy', { from: 'tree', to: 'tree-copy' }).expect(200);
      await post('/api/files/move', { from: 'tree-copy', to: 'zeta/tree' }).expect(200);
      await post('/api/files/move', { from: 'alpha.txt', to: 'data.json' }).expect(409);
      expect(inRuntime('fay', 'sh', '-c', `ls ${WORKSPACE}/zeta/tree/d3 | wc -l`)).toBe('100');
      await fay.agent.delete('/api/files?path=zeta').set('X-CSRF-Token', fay.csrfToken).expect(204);
      await fay.agent.get('/api/files?path=zeta').expect(404);
      const audit = test.database.sqlite.prepare("SELECT action FROM audit_log WHERE action LIKE 'files.%' AND target = 'fay'").all() as { action: string }[];
      expect(new Set(audit.map((row) => row.action))).toEqual(new Set(['files.mkdir', 'files.upload', 'files.save', 'files.copy', 'files.move', 'files.delete']));
    }));

  it('refuses every bad path with a 4xx in the error shape, touching nothing outside the workspace', () =>
    printingLogsOnFailure(['fay'], async () => {
      // A symlink the agent made, pointing at the runtime's own config (which holds its token).
      inRuntime('fay', 'sh', '-c', `ln -sfn /home/node/.openclaw ${WORKSPACE}/escape && ln -sfn /home/node/.openclaw/openclaw.json ${WORKSPACE}/config-link`);
      const bad = ['../openclaw.json', 'a/../../x', '/etc/passwd', 'a\\b', 'x\0y', `${'n'.repeat(256)}`, 'a//b', 'escape/openclaw.json', 'config-link', 'escape'];
      for (const target of bad) {
        const read = await fay.agent.get(`/api/files/content?path=${encodeURIComponent(target)}`);
        expect([read.status, target]).toEqual([expect.any(Number), target]);
        expect(read.status).toBeGreaterThanOrEqual(400);
        expect(read.status).toBeLessThan(500);
        expect(read.body.error.code).toEqual(expect.any(String));
      }
      for (const target of ['escape', 'escape/sub', 'config-link/..']) {
        const write = await upload(fay, target, [{ name: 'x.txt', content: Buffer.from('x') }]);
        expect(write.status).toBeGreaterThanOrEqual(400);
        expect(write.status).toBeLessThan(500);
      }
      await upload(fay, '', [{ name: 'config-link', content: Buffer.from('overwrite') }], true).expect(400);
      // Zip-slip style names inside a folder upload.
      for (const name of ['../evil.txt', 'ok/../../evil.txt', '/abs.txt']) {
        const slip = await upload(fay, 'tree', [{ name, content: Buffer.from('evil') }]);
        expect([slip.status, name]).toEqual([400, name]);
      }
      await fay.agent.get('/api/files/archive?path=escape').expect(400);
      await fay.agent.post('/api/files/copy').set('X-CSRF-Token', fay.csrfToken).send({ from: 'escape/openclaw.json', to: 'stolen.json' }).expect(400);
      // A folder where a file is expected, and the reverse.
      await fay.agent.get('/api/files/content?path=tree').expect(400);
      await fay.agent.get('/api/files?path=data.json').expect(400);
      // An empty upload, and wrong types.
      await fay.agent.post('/api/files/upload?path=').set('X-CSRF-Token', fay.csrfToken).set('Content-Type', 'multipart/form-data; boundary=x').send('--x--\r\n').expect(400);
      await fay.agent.post('/api/files/move').set('X-CSRF-Token', fay.csrfToken).send({ from: 1, to: ['x'] }).expect(400);
      // Nothing any of those tried to write exists anywhere but where it belongs.
      const stray = inRuntime('fay', 'sh', '-c', "find /home/node /tmp \\( -name 'x.txt' -o -name 'evil*' -o -name 'stolen.json' -o -name 'abs.txt' \\) 2>/dev/null; true");
      expect(stray).toBe('');
      expect(inRuntime('fay', 'sh', '-c', 'grep -c overwrite /home/node/.openclaw/openclaw.json || true')).toBe('0');
    }));

  it('leaves nothing when the body is cut off mid-file, and refuses files over the limit', () =>
    printingLogsOnFailure(['fay'], async () => {
      const { boundary, body } = uploadForm([{ name: 'cut.bin', content: randomBytes(8 * 1024 * 1024) }]);
      await new Promise<void>((resolve) => {
        const request = http.request(`${base}/api/files/upload?path=`, {
          method: 'POST',
          headers: { cookie: cookieOf(fay), 'x-csrf-token': raw.get('fay')!.csrfToken, origin: 'http://localhost:8080', 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(body.length) },
        });
        request.on('error', () => resolve());
        request.on('response', (response) => {
          response.resume();
          resolve();
        });
        request.write(body.subarray(0, 4 * 1024 * 1024), () => setTimeout(() => {
          request.destroy();
          resolve();
        }, 500));
      });
      // Over the limit: 413 with the limit in words, and the small file sent with it is not kept either.
      const tooBig = await upload(fay, '', [{ name: 'small-with-huge.txt', content: Buffer.from('ok') }, { name: 'huge.bin', content: Buffer.alloc(UPLOAD_LIMIT + 1024) }]).expect(413);
      expect(tooBig.body.error).toMatchObject({ code: 'file_too_large', message: expect.stringContaining('120 MiB') });
      const failures = test.database.sqlite.prepare("SELECT detail FROM audit_log WHERE action = 'files.upload' AND result = 'failure' AND target = 'fay'").all() as { detail: string }[];
      expect(failures.map((row) => row.detail).join('\n')).toContain('larger than the upload limit');
      // The staging area empties once the tool sees the stream end; the workspace never shows the file.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      expect(inRuntime('fay', 'sh', '-c', `ls -A ${WORKSPACE} | grep -c -e cut.bin -e small-with-huge -e huge.bin || true`)).toBe('0');
      expect(inRuntime('fay', 'sh', '-c', 'ls -A /home/node/.openclaw/.crewclaw-staging | wc -l')).toBe('0');
    }));

  it('keeps users apart: another user\'s files are the same 404, and admins\' access is audited', () =>
    printingLogsOnFailure(['fay', 'gus'], async () => {
      await gus.agent.get('/api/admin/files/fay?path=').expect(403);
      await upload(gus, '', [{ name: 'mine.txt', content: Buffer.from('gus') }]).expect(201);
      await gus.agent.get('/api/files/content?path=alpha.txt').expect(404);
      const seen = await admin.agent.get('/api/admin/files/fay?path=').expect(200);
      expect(seen.body.entries.map((entry: { name: string }) => entry.name)).toContain('data.json');
      await admin.agent.get('/api/admin/files/nobody?path=').expect(404);
      const audit = test.database.sqlite.prepare("SELECT actor_name FROM audit_log WHERE action = 'files.admin_access' AND target = 'fay'").all();
      expect(audit).toEqual(expect.arrayContaining([{ actor_name: 'admin' }]));
    }));

  it('takes uploads from two users at once, and fails cleanly during a restart', () =>
    printingLogsOnFailure(['fay', 'gus'], async () => {
      const fayFile = randomBytes(20 * 1024 * 1024);
      const gusFile = randomBytes(20 * 1024 * 1024);
      await Promise.all([upload(fay, '', [{ name: 'both.bin', content: fayFile }]).expect(201), upload(gus, '', [{ name: 'both.bin', content: gusFile }]).expect(201)]);
      expect(sha256((await download(fay, 'both.bin')).body)).toBe(sha256(fayFile));
      expect(sha256((await download(gus, 'both.bin')).body)).toBe(sha256(gusFile));

      // Half the body is in when the runtime restarts under it: a clear 503, and nothing half-written.
      const half = 4 * 1024 * 1024;
      let restarted: Promise<unknown> = Promise.resolve();
      const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = http.request(`${base}/api/files/upload?path=&name=during-restart.bin`, {
          method: 'POST',
          headers: { cookie: cookieOf(fay), 'x-csrf-token': raw.get('fay')!.csrfToken, origin: 'http://localhost:8080', 'content-type': 'application/octet-stream', 'content-length': String(2 * half) },
        });
        request.on('response', (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        });
        request.on('error', reject);
        request.write(randomBytes(half), () => {
          setTimeout(() => {
            restarted = fay.agent.post('/api/runtime/restart').set('X-CSRF-Token', fay.csrfToken).expect(200);
            restarted.then(() => request.end(randomBytes(half)), reject);
          }, 500);
        });
      });
      const { status, body } = await answer;
      expect(status).toBe(503);
      expect(JSON.parse(body).error).toMatchObject({ code: 'runtime_interrupted', message: expect.stringContaining('nothing was changed') });
      await restarted;
      await fay.agent.get('/api/files/content?path=during-restart.bin').expect(404);
    }));

  it('holds off the idle stop while a download is still streaming, and lets it go after', () =>
    printingLogsOnFailure(['fay'], async () => {
      await upload(fay, '', [{ name: 'slow.bin', content: randomBytes(16 * 1024 * 1024) }], true).expect(201);
      const inTwoHours = () => new Date(Date.now() + 120 * 60_000);
      // Only a running runtime is ever idle-stopped: wait for the gateway if the upload just started it.
      await until('fay\'s runtime running', async () => ((await fay.agent.get('/api/runtime').expect(200)).body.runtime.state === 'running' ? true : undefined), 120_000);
      // A browser on a slow line: the download has begun, and most of it is still to come.
      const response = await new Promise<http.IncomingMessage>((resolve, reject) =>
        http.get(`${base}/api/files/content?path=slow.bin`, { headers: { cookie: cookieOf(fay) } }, resolve).on('error', reject),
      );
      expect(response.statusCode).toBe(200);
      await new Promise((resolve) => response.once('data', resolve));
      response.pause();
      // (Other users' runtimes, idle all along, may be stopped by these sweeps: only fay's is watched.)
      expect((await test.platform.services.runtimes.stopIdle(60, {}, inTwoHours())).stopped).not.toContain('fay');
      expect((await fay.agent.get('/api/runtime').expect(200)).body.runtime.state).toBe('running');
      response.destroy();
      const stopped = await until('the idle stop once the download is gone', async () => {
        const names = (await test.platform.services.runtimes.stopIdle(60, {}, inTwoHours())).stopped;
        return names.includes('fay') ? names : undefined;
      }, 60_000);
      expect(stopped).toContain('fay');
    }));
});
