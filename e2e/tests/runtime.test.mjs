// A member's own runtime, with the real Docker daemon and the real runtime image:
// start with live steps, the Control UI link, logs, stop, and the `?next=` hand-off
// from forward-auth (which must never send anyone to another runtime or another site).
// Everything the control plane makes in Docker is removed afterwards (useStack docker).
import assert from 'node:assert/strict';
import { before, describe } from 'node:test';
import { eventually, expectText, signIn, useStack } from '../support/browser.mjs';
import { E2E_PREFIX, cleanUpOnExit } from '../support/docker.mjs';
import { apiSession, setupAdmin, startServer } from '../support/server.mjs';

const stack = useStack('runtime', { docker: true, serverEnv: { RUNTIME_IMAGE: process.env.CREWCLAW_TEST_RUNTIME_IMAGE ?? 'crewclaw/runtime:dev' } });
const ADMIN = { username: 'root-admin', password: 'admin-password-1' };
const MEMBER = { username: 'alice', password: 'alice-password-1' };
/** From pressing Start to a healthy gateway: 30-90 s here, more on a busy machine. */
const START_MS = 240_000;
const SLOW = { timeout: 420_000 };

describe('my runtime', () => {
  let page;
  const badge = () => page.getByTestId('runtime-state');
  const button = (name) => page.getByRole('button', { name, exact: true });
  const openLink = () => page.getByRole('link', { name: 'Open Control UI' });

  before(async () => {
    await setupAdmin(stack.server.baseUrl, ADMIN.username, ADMIN.password);
    const admin = await apiSession(stack.server.baseUrl, ADMIN.username, ADMIN.password);
    const created = await admin.post('/users', { ...MEMBER, role: 'user' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
  });

  stack.scenario('a new member sees a runtime that was never created, and no logs yet', async () => {
    page = await stack.newPage();
    await page.goto('/');
    await signIn(page, MEMBER.username, MEMBER.password);
    await page.getByRole('heading', { name: `Hello, ${MEMBER.username}` }).waitFor();
    await page.getByRole('heading', { name: 'Your runtime' }).waitFor();
    await expectText(badge(), 'Not created');
    assert.equal(await button('Start').isEnabled(), true);
    assert.equal(await button('Stop').isDisabled(), true);
    assert.equal(await button('Restart').isDisabled(), true);
    assert.equal(await openLink().count(), 0);

    await button('View logs').click();
    await expectText(page.getByTestId('runtime-card').getByRole('status'), 'No logs yet');
  });

  stack.scenario(
    'Start shows each step with its time, then Running and the link to my Control UI',
    async () => {
      await button('Start').click();
      // The pressed button says what is happening; nothing else can be pressed meanwhile.
      const starting = button('Starting…');
      await starting.waitFor();
      assert.equal(await starting.isDisabled(), true);
      assert.equal(await button('Stop').isDisabled(), true);
      assert.equal(await button('Restart').isDisabled(), true);

      const steps = page.getByTestId('runtime-steps');
      await expectText(steps, 'Creating the container');
      await page.getByTestId('runtime-steps').getByText('Waiting for the agent to answer').waitFor({ timeout: 60_000 });
      assert.match(await steps.innerText(), /\d+\.\d s/);

      await badge().filter({ hasText: 'Running' }).waitFor({ timeout: START_MS });
      await expectText(steps, 'Ready');
      // On the runtime origin, not the platform's.
      assert.equal(await openLink().getAttribute('href'), `${stack.server.runtimeUrl}/u/${MEMBER.username}/`);
      assert.equal(await button('Start').isDisabled(), true);
      assert.equal(await button('Stop').isEnabled(), true);
      assert.equal(await button('Restart').isEnabled(), true);
      await expectText(page.getByTestId('runtime-image'), 'crewclaw/runtime');
      // Usage figures follow within seconds (Docker may have none the moment it is up).
      await eventually(() => page.getByTestId('runtime-memory').innerText(), (text) => / of /.test(text), { timeoutMs: 30_000, what: 'memory used' });

      // The logs come from the running container.
      await button('Refresh logs').click();
      const logs = page.getByTestId('runtime-logs');
      await logs.waitFor();
      assert.ok((await logs.innerText()).trim().length > 0, 'the logs are not empty');

      await stack.shot(page, 'running-en');
      await page.getByRole('button', { name: '中文' }).click();
      await expectText(badge(), '运行中');
      await page.getByRole('link', { name: '打开控制台' }).waitFor();
      await stack.shot(page, 'running-zh');
      await page.getByRole('button', { name: 'English' }).click();
      await expectText(badge(), 'Running');
    },
    SLOW,
  );

  stack.scenario('Stop stops it: Stopped, and the link is gone', async () => {
    await button('Stop').click();
    await button('Stopping…').waitFor();
    await badge().filter({ hasText: 'Stopped' }).waitFor({ timeout: 60_000 });
    await expectText(page.getByTestId('runtime-steps'), 'Stopped');
    assert.equal(await openLink().count(), 0);
    assert.equal(await button('Start').isEnabled(), true);
  });

  stack.scenario('a ?next= that is not my own runtime is ignored: no start, no navigation', async () => {
    const home = `${stack.server.baseUrl}/`;
    for (const next of ['/u/otheruser/', '//evil.example', 'https://evil.example', `/u/${MEMBER.username}x/`, `/u/${MEMBER.username}/../otheruser/`]) {
      await page.goto(`/?next=${encodeURIComponent(next)}`);
      await page.getByRole('heading', { name: `Hello, ${MEMBER.username}` }).waitFor();
      // The parameter is dropped from the address, unused.
      await page.waitForURL(home);
      await expectText(badge(), 'Stopped');
      await page.waitForTimeout(1_500);
      assert.equal(page.url(), home, `after next=${next}`);
      assert.equal(await page.getByRole('heading', { name: 'Opening your runtime…' }).count(), 0);
      await expectText(badge(), 'Stopped');
    }

    // Signed out, the same: sign-in keeps the parameter, and then drops it.
    const other = await stack.newPage();
    await other.goto(`/?next=${encodeURIComponent('https://evil.example/u/alice/')}`);
    await signIn(other, MEMBER.username, MEMBER.password);
    await other.getByRole('heading', { name: `Hello, ${MEMBER.username}` }).waitFor();
    await other.waitForURL(home);
    await other.waitForTimeout(1_500);
    assert.equal(other.url(), home);
    await other.context().close();
  });

  stack.scenario(
    'following a /u/<me>/ link while signed out: sign in, the runtime starts, and the browser goes there',
    async () => {
      const target = `/u/${MEMBER.username}/`;
      const visitor = await stack.newPage();
      await visitor.goto(`/?next=${encodeURIComponent(target)}`);
      await visitor.getByRole('heading', { name: 'Sign in' }).waitFor();
      await expectText(visitor.getByRole('status'), 'Sign in to open your runtime.');
      await signIn(visitor, MEMBER.username, MEMBER.password);

      await visitor.getByRole('heading', { name: 'Opening your runtime…' }).waitFor();
      assert.match(visitor.url(), /[?&]next=%2Fu%2Falice%2F/, 'signing in kept the next parameter');
      await expectText(visitor.getByTestId('runtime-steps'), 'Starting');
      await visitor.waitForURL(`${stack.server.runtimeUrl}${target}`, { timeout: START_MS });

      // The first tab, still open on home, followed along through the events stream.
      await badge().filter({ hasText: 'Running' }).waitFor({ timeout: 30_000 });
      assert.equal(await openLink().getAttribute('href'), `${stack.server.runtimeUrl}${target}`);
      await visitor.context().close();
    },
    SLOW,
  );

  stack.scenario(
    'a hand-off whose start fails stays here and shows why, with the logs',
    async () => {
      // A second control plane that gives runtimes 4 s to become healthy (OpenClaw needs 6 s or more): every start fails
      // the way a broken runtime does (its own prefix and half of the subnet range).
      const prefix = `${E2E_PREFIX}f`;
      const clean = cleanUpOnExit(prefix);
      const strict = await startServer({ env: { RUNTIME_NAME_PREFIX: prefix, RUNTIME_SUBNET_POOL: '10.216.128.0/17', RUNTIME_START_TIMEOUT_SECONDS: '4' } });
      try {
        const USER = { username: 'carol', password: 'carol-password-1' };
        await setupAdmin(strict.baseUrl, USER.username, USER.password);
        const visitor = await stack.newPage({ baseURL: strict.baseUrl });
        const start = `/?next=${encodeURIComponent(`/u/${USER.username}/chat`)}`;
        await visitor.goto(start);
        await signIn(visitor, USER.username, USER.password);
        await visitor.getByRole('heading', { name: 'Opening your runtime…' }).waitFor();

        await visitor.getByTestId('runtime-state').filter({ hasText: 'Failed' }).waitFor({ timeout: START_MS });
        await expectText(visitor.getByRole('alert'), 'Your runtime could not start.');
        const error = visitor.getByTestId('runtime-error');
        await expectText(error, 'The last start failed: The runtime did not become healthy within 4 s.');
        await expectText(visitor.getByTestId('runtime-steps'), 'Failed');
        // The last log lines, when the runtime wrote any before it was given up on.
        const { runtime } = await (await visitor.request.get('/api/runtime')).json();
        const lastLine = (runtime.error.logs ?? '').trim().split('\n').at(-1);
        if (lastLine) {
          await error.getByText('Last log lines').click();
          await expectText(error.locator('pre'), lastLine.slice(-40));
        } else {
          assert.equal(await error.locator('details').count(), 0, 'no empty log box');
        }
        // Its logs on demand (the container was left running, so there are some by now).
        await visitor.getByRole('button', { name: 'View logs' }).click();
        await eventually(
          async () => {
            const logs = visitor.getByTestId('runtime-logs');
            if ((await logs.count()) > 0 && (await logs.innerText()).trim()) return true;
            await visitor.getByRole('button', { name: 'Refresh logs' }).click();
            await visitor.waitForTimeout(1_000);
            return false;
          },
          Boolean,
          { timeoutMs: 60_000, what: 'log lines' },
        );
        assert.equal(visitor.url(), `${strict.baseUrl}${start}`, 'still here, nothing opened');
        await stack.shot(visitor, 'handoff-failed-en');

        // Giving up on it leads home, with the parameter gone.
        await visitor.getByRole('button', { name: 'Back to home' }).click();
        await visitor.getByRole('heading', { name: `Hello, ${USER.username}` }).waitFor();
        assert.equal(visitor.url(), `${strict.baseUrl}/`);
        await expectText(visitor.getByTestId('runtime-state'), 'Failed');
        await visitor.context().close();
      } catch (error) {
        console.error(strict.output());
        throw error;
      } finally {
        await strict.stop();
        clean();
      }
    },
    SLOW,
  );
});
