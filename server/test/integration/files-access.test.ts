/**
 * The files API's own checks, which come before anything reaches a runtime: who may call it, and
 * which paths are refused outright. (Everything that touches a container is in server/test/docker.)
 */
import { MemoryDriver } from '../../src/runtimes/memory-driver';
import { createUser, setupAdmin, startTestPlatform, type SignedIn, type TestPlatform } from './support/test-platform';

type Method = 'get' | 'post' | 'put' | 'delete';

describe('the files API before any runtime is touched', () => {
  let test: TestPlatform;
  let driver: MemoryDriver;
  let bob: SignedIn;
  beforeEach(async () => {
    driver = new MemoryDriver();
    test = startTestPlatform({}, { driver });
    const admin = await setupAdmin(test);
    bob = await createUser(test, admin, 'bob');
  });
  afterEach(() => test.close());

  const routes: [Method, string, object | undefined][] = [
    ['get', '/api/files?path=', undefined],
    ['get', '/api/files/stat?path=x', undefined],
    ['get', '/api/files/content?path=x', undefined],
    ['get', '/api/files/archive?path=x', undefined],
    ['post', '/api/files/upload?path=&name=x', {}],
    ['put', '/api/files/content?path=x', {}],
    ['post', '/api/files/mkdir', { path: 'x' }],
    ['post', '/api/files/move', { from: 'x', to: 'y' }],
    ['post', '/api/files/copy', { from: 'x', to: 'y' }],
    ['delete', '/api/files?path=x', undefined],
  ];

  it.each(routes)('%s %s answers 401 to anonymous callers', async (method, url, body) => {
    const request = test.request()[method](url);
    const response = await (body ? request.send(body) : request).expect(401);
    expect(response.body.error.code).toBe('unauthorized');
  });

  it.each([
    ['..', '../openclaw.json'],
    ['.. in the middle', 'a/../../b'],
    ['an absolute path', '/etc/passwd'],
    ['a NUL byte', 'a\0b'],
    ['a backslash', 'a\\b'],
    ['a name over 255 bytes', `${'名'.repeat(86)}`],
    ['an empty name', 'a//b'],
  ])('refuses %s with a field error, without starting the runtime', async (_label, path) => {
    for (const url of [`/api/files?path=${encodeURIComponent(path)}`, `/api/files/content?path=${encodeURIComponent(path)}`, `/api/files/archive?path=${encodeURIComponent(path)}`]) {
      const response = await bob.agent.get(url).expect(400);
      expect(response.body.error).toMatchObject({ code: 'validation_failed', fields: [{ field: 'path', message: expect.any(String) }] });
    }
    const move = await bob.agent.post('/api/files/move').set('X-CSRF-Token', bob.csrfToken).send({ from: 'ok.txt', to: path }).expect(400);
    expect(move.body.error.fields).toEqual([{ field: 'to', message: expect.any(String) }]);
    expect(driver.createCalls).toBe(0);
  });

  it('asks for If-Match (or If-None-Match: *) before saving over anything', async () => {
    const response = await bob.agent.put('/api/files/content?path=notes.txt').set('X-CSRF-Token', bob.csrfToken).set('Content-Type', 'text/plain').send('text').expect(428);
    expect(response.body.error.code).toBe('precondition_required');
  });

  it('needs Content-Length and a name for a file sent as the plain body', async () => {
    const noName = await bob.agent.post('/api/files/upload?path=').set('X-CSRF-Token', bob.csrfToken).set('Content-Type', 'application/octet-stream').send('x').expect(400);
    expect(noName.body.error.fields).toEqual([{ field: 'name', message: expect.any(String) }]);
  });
});
