// The agent itself, reached as users reach it: the whole stack from compose.yaml (Traefik in front,
// the control plane's image), the real OpenClaw image, real Chromium. Opening the Control UI from a
// link when signed out, when the runtime is stopped, and when it is running; its WebSocket through
// Traefik and the forward-auth check with no token prompt and no pairing; our 404 page for every
// address that is not the user's; reconnecting after the runtime restarts and after Traefik is
// recreated; and the idle stop leaving an open Control UI alone.
import assert from 'node:assert/strict';
import { before, describe } from 'node:test';
import { eventually, expectText, signIn, useStack } from '../support/browser.mjs';
import { expectControlUiUsable, watchGateway } from '../support/control-ui.mjs';
import { apiSession, setupAdmin } from '../support/server.mjs';

/** One minute: the idle sweep runs once a minute, so a runtime nobody uses stops 1 to 3 minutes after its last use. */
const IDLE_STOP_MINUTES = '1';
const stack = useStack('entry', {
  docker: true,
  compose: true,
  serverEnv: { IDLE_STOP_MINUTES, RUNTIME_MEMORY_MB: '2048' },
});
const ADMIN = { username: 'root-admin', password: 'admin-password-1' };
const ALICE = { username: 'alice', password: 'alice-password-1' };
const BOB = { username: 'bob', password: 'bob-password-1' };
/** From a click to a healthy gateway: 30-90 s here, more on a busy machine. */
const START_MS = 240_000;
const SLOW = { timeout: 480_000 };

describe('the Control UI through Traefik', () => {
  let alice;
  let bob;
  let controlUi;
  let gateway;

  const runtimeState = async (session) => (await session.get('/runtime')).body.runtime.state;
  const expectUsable = (page, watcher, socketCount) => expectControlUiUsable(page, watcher, socketCount, `/u/${ALICE.username}`);

  before(async () => {
    await setupAdmin(stack.server.baseUrl, ADMIN.username, ADMIN.password);
    const admin = await apiSession(stack.server.baseUrl, ADMIN.username, ADMIN.password);
    for (const user of [ALICE, BOB]) {
      const created = await admin.post('/users', { ...user, role: 'user' });
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }
    alice = await apiSession(stack.server.baseUrl, ALICE.username, ALICE.password);
    bob = await apiSession(stack.server.baseUrl, BOB.username, BOB.password);
  });

  stack.scenario(
    'a Control UI link opened signed out: sign in, the runtime starts, and the Control UI connects with no token or pairing',
    async () => {
      controlUi = await stack.newPage({ baseURL: stack.server.runtimeUrl });
      gateway = watchGateway(controlUi);
      await controlUi.goto(`/u/${ALICE.username}/`);
      // Sent to the platform to sign in, the way back kept.
      await controlUi.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
      assert.equal(new URL(controlUi.url()).origin, stack.server.baseUrl);
      await signIn(controlUi, ALICE.username, ALICE.password);
      await controlUi.waitForURL((url) => url.origin === stack.server.runtimeUrl, { timeout: START_MS });
      assert.match(new URL(controlUi.url()).pathname, new RegExp(`^/u/${ALICE.username}/`));
      await expectUsable(controlUi, gateway, 1);
      await stack.shot(controlUi, 'control-ui-en');
    },
    SLOW,
  );

  stack.scenario(
    'addresses that are not the user’s runtime show our 404 page, never another user’s UI',
    async () => {
      // Bob's runtime running: a name that slips through would show his Control UI.
      assert.equal((await bob.post('/runtime/start')).body.runtime.state, 'running');
      const page = await stack.newPage({ baseURL: stack.server.runtimeUrl });
      await page.goto(`${stack.server.baseUrl}/`);
      await signIn(page, ALICE.username, ALICE.password);
      await page.getByRole('heading', { name: `Hello, ${ALICE.username}` }).waitFor();
      for (const path of ['/u/bob/', '/u/nobody/', '/u/Alice/', '/u/alice-2/', '/u/%62ob/', '//u/bob/', '/u/bob/../bob/']) {
        const response = await page.goto(`${stack.server.runtimeUrl}${path}`);
        assert.deepEqual({ status: response.status(), page: await page.locator('main[data-page]').getAttribute('data-page') }, { status: 404, page: 'not_found' }, path);
        await expectText(page.getByRole('heading', { level: 1 }), 'No runtime here');
        assert.equal(await page.locator('[data-openclaw-control-ui-base-path]').count(), 0, `${path} showed a Control UI`);
      }
      await stack.shot(page, 'not-found-en');
      // The same page in Chinese for a browser that asks for it.
      const chinese = await stack.newPage({ baseURL: stack.server.runtimeUrl, locale: 'zh-CN' });
      await chinese.goto(`${stack.server.baseUrl}/`);
      await signIn(chinese, ALICE.username, ALICE.password, { username: '用户名', password: '密码', submit: '登录' });
      await chinese.getByRole('heading', { name: /alice/ }).waitFor();
      const response = await chinese.goto(`${stack.server.runtimeUrl}/u/bob/`);
      assert.equal(response.status(), 404);
      await expectText(chinese.getByRole('heading', { level: 1 }), '这里没有运行时');
      await stack.shot(chinese, 'not-found-zh');
      await chinese.close();
      await page.close();
    },
    SLOW,
  );

  stack.scenario(
    'the Control UI reconnects by itself after its runtime restarts and after Traefik is recreated',
    async () => {
      const before = gateway.sockets.length;
      assert.equal((await alice.post('/runtime/restart')).body.runtime.state, 'running');
      await expectUsable(controlUi, gateway, before + 1);

      const again = gateway.sockets.length;
      stack.server.compose('up', '-d', '--no-build', '--force-recreate', '--wait', 'proxy');
      await expectUsable(controlUi, gateway, again + 1);
      assert.match(new URL(controlUi.url()).pathname, new RegExp(`^/u/${ALICE.username}/`));
    },
    SLOW,
  );

  stack.scenario(
    'a stopped runtime: the link goes through the start page and lands in the Control UI',
    async () => {
      await controlUi.close();
      assert.equal((await alice.post('/runtime/stop')).body.runtime.state, 'stopped');
      controlUi = await stack.newPage({ baseURL: stack.server.runtimeUrl });
      gateway = watchGateway(controlUi);
      await controlUi.goto(`${stack.server.baseUrl}/`);
      await signIn(controlUi, ALICE.username, ALICE.password);
      await controlUi.getByRole('heading', { name: `Hello, ${ALICE.username}` }).waitFor();
      await controlUi.goto(`/u/${ALICE.username}/`);
      // The web UI's start page, following the start live.
      await controlUi.waitForURL((url) => url.origin === stack.server.baseUrl);
      await controlUi.getByTestId('runtime-steps').waitFor({ timeout: 30_000 });
      await controlUi.waitForURL((url) => url.origin === stack.server.runtimeUrl, { timeout: START_MS });
      await expectUsable(controlUi, gateway, 1);
    },
    SLOW,
  );

  stack.scenario(
    'the idle stop leaves a runtime with its Control UI open alone, and stops it once the page is closed',
    async () => {
      // Bob's runtime, unused since it started, shows the idle stop is at work.
      await eventually(() => runtimeState(bob), (state) => state === 'stopped', { timeoutMs: 240_000, what: "bob's idle runtime stopped" });
      assert.equal(await runtimeState(alice), 'running', "alice's runtime, with its Control UI open, was stopped");
      // Still in use after more than the idle limit with no page load at all.
      await new Promise((resolve) => setTimeout(resolve, 150_000));
      assert.equal(await runtimeState(alice), 'running', "alice's runtime, with its Control UI open, was stopped");
      await controlUi.close();
      await eventually(() => runtimeState(alice), (state) => state === 'stopped', { timeoutMs: 240_000, what: "alice's runtime stopped once its page closed" });
    },
    { timeout: 720_000 },
  );
});
