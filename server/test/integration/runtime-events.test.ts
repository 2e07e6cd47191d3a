/**
 * The runtime events stream (`GET /api/runtime/events`, server-sent events) lives as long as the
 * session that opened it: a user disabled, deleted, signed out or whose password changed stops
 * receiving at once, while everyone else's streams go on.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryDriver } from '../../src/runtimes/memory-driver';
import { setupAdmin, startTestPlatform, type SignedIn, type TestPlatform } from './support/test-platform';

/** Long enough for a stream that should end to have ended many times over; far below the 15 s keep-alive. */
const PROMPTLY_MS = 2_000;

interface Browser {
  cookie: string;
  csrfToken: string;
  id: number;
}

interface OpenStream {
  /** Everything received so far. */
  text(): string;
  /** Resolves when the server ends the response. */
  ended: Promise<void>;
  close(): void;
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('the runtime events stream ends with its session', () => {
  let test: TestPlatform;
  let server: http.Server;
  let admin: SignedIn;
  const streams: OpenStream[] = [];

  /** Signs in as a fresh browser would: its own cookie, its own session. */
  async function signInBrowser(username: string, password: string): Promise<Browser> {
    const response = await test.request().post('/api/auth/login').send({ username, password }).expect(200);
    const cookie = (response.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
    return { cookie, csrfToken: response.body.csrfToken, id: response.body.user.id };
  }

  async function createUser(username: string): Promise<Browser> {
    await admin.agent.post('/api/users').set('X-CSRF-Token', admin.csrfToken).send({ username, password: `${username}-password` }).expect(201);
    return signInBrowser(username, `${username}-password`);
  }

  /** Opens the stream over a real connection and waits for the first event (the current state). */
  async function openStream(browser: Browser): Promise<OpenStream> {
    const { port } = server.address() as AddressInfo;
    let received = '';
    let sawState: () => void = () => undefined;
    const state = new Promise<void>((resolve) => (sawState = resolve));
    let request!: http.ClientRequest;
    const ended = new Promise<void>((resolve, reject) => {
      request = http.get({ host: '127.0.0.1', port, path: '/api/runtime/events', headers: { Cookie: browser.cookie, Accept: 'text/event-stream' } }, (response) => {
        if (response.statusCode !== 200) reject(new Error(`events stream answered ${response.statusCode}`));
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          received += chunk;
          if (received.includes('event: state')) sawState();
        });
        response.on('end', resolve);
      });
      request.on('error', reject);
    });
    ended.catch(() => undefined);
    await within(Promise.race([state, ended]), 5_000, 'the first state event');
    const stream = { text: () => received, ended, close: () => request.destroy() };
    streams.push(stream);
    return stream;
  }

  /** Fails if the stream ends within a moment, then shows it still delivers a step. */
  async function expectStillDelivering(stream: OpenStream, username: string): Promise<void> {
    const outcome = await Promise.race([stream.ended.then(() => 'ended'), new Promise((resolve) => setTimeout(() => resolve('open'), 300))]);
    expect(outcome).toBe('open');
    test.platform.services.runtimeEvents.emit({ username, step: 'starting', at: new Date().toISOString(), elapsedMs: 1 });
    await within(
      new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (stream.text().includes('event: step')) resolve(clearInterval(poll));
        }, 10);
      }),
      PROMPTLY_MS,
      'a step on the stream that stays open',
    );
  }

  beforeEach(async () => {
    test = startTestPlatform({}, { driver: new MemoryDriver() });
    server = http.createServer(test.platform.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    admin = await setupAdmin(test);
  });
  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    test.close();
  });

  it('ends when an admin disables the user, and the stream cannot be reopened', async () => {
    const alice = await createUser('alice');
    const bob = await createUser('bob');
    const aliceStream = await openStream(alice);
    const bobStream = await openStream(bob);

    await admin.agent.patch(`/api/users/${alice.id}`).set('X-CSRF-Token', admin.csrfToken).send({ disabled: true }).expect(200);

    await within(aliceStream.ended, PROMPTLY_MS, 'the disabled user’s stream ending');
    await test.request().get('/api/runtime/events').set('Cookie', alice.cookie).expect(401);
    await expectStillDelivering(bobStream, 'bob');
  });

  it('ends when an admin deletes the user', async () => {
    const alice = await createUser('alice');
    const stream = await openStream(alice);

    await admin.agent.delete(`/api/users/${alice.id}`).set('X-CSRF-Token', admin.csrfToken).expect(204);

    await within(stream.ended, PROMPTLY_MS, 'the deleted user’s stream ending');
  });

  it('ends when an admin sets a new password for the user', async () => {
    const alice = await createUser('alice');
    const stream = await openStream(alice);

    await admin.agent.patch(`/api/users/${alice.id}`).set('X-CSRF-Token', admin.csrfToken).send({ password: 'a-new-password-1' }).expect(200);

    await within(stream.ended, PROMPTLY_MS, 'the stream ending after a password reset');
  });

  it('ends when its own browser signs out, not when another browser of the same user does', async () => {
    const laptop = await createUser('alice');
    const phone = await signInBrowser('alice', 'alice-password');
    const laptopStream = await openStream(laptop);
    const phoneStream = await openStream(phone);

    await test.request().post('/api/auth/logout').set('Cookie', phone.cookie).set('X-CSRF-Token', phone.csrfToken).expect(204);

    await within(phoneStream.ended, PROMPTLY_MS, 'the signed-out browser’s stream ending');
    await expectStillDelivering(laptopStream, 'alice');
  });

  it('ends in the user’s other browsers when they change their password, and stays open in the one that changed it', async () => {
    const laptop = await createUser('alice');
    const phone = await signInBrowser('alice', 'alice-password');
    const laptopStream = await openStream(laptop);
    const phoneStream = await openStream(phone);

    await test
      .request()
      .patch('/api/me/password')
      .set('Cookie', laptop.cookie)
      .set('X-CSRF-Token', laptop.csrfToken)
      .send({ currentPassword: 'alice-password', newPassword: 'a-new-password-1' })
      .expect(204);

    await within(phoneStream.ended, PROMPTLY_MS, 'the other browser’s stream ending');
    await expectStillDelivering(laptopStream, 'alice');
  });

  it('is not touched when an admin only changes the user’s role', async () => {
    const alice = await createUser('alice');
    const stream = await openStream(alice);

    await admin.agent.patch(`/api/users/${alice.id}`).set('X-CSRF-Token', admin.csrfToken).send({ role: 'admin' }).expect(200);

    await expectStillDelivering(stream, 'alice');
  });

  it(
    'ends at the next keep-alive when the session ended outside this process (the admin CLI, expiry)',
    async () => {
      const alice = await createUser('alice');
      const stream = await openStream(alice);

      // What `npm run admin -- reset-password` does from its own process: no event reaches the server.
      test.database.sqlite.prepare('DELETE FROM sessions WHERE user_id = ?').run(alice.id);

      await within(stream.ended, 20_000, 'the stream ending at its keep-alive');
    },
    30_000,
  );
});
