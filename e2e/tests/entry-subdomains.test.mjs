// Per-user subdomains (RUNTIME_URL=http://*.crew.test:<port>): each user's OpenClaw at the root of a
// host of their own, the way a team with a wildcard domain runs CrewClaw. The whole stack from
// compose.yaml, the real OpenClaw image, real Chromium; crew.test and its subdomains are mapped to
// loopback in the browser, and treated as secure contexts as they would be over HTTPS.
// Opening the Control UI from the web UI and from a link while signed out, the one-time sign-in to
// the runtime's host, a page the agent wrote trying to act on the platform, and other users' hosts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { before, describe } from 'node:test';
import { eventually, signIn, useStack } from '../support/browser.mjs';
import { expectControlUiUsable, watchGateway } from '../support/control-ui.mjs';
import { apiSession, setupAdmin } from '../support/server.mjs';

const DOMAIN = 'crew.test';
const USERS = ['alice', 'bob'];
const hostOf = (server, username) => `http://${username}.${DOMAIN}:${new URL(server.baseUrl).port}`;
const stack = useStack('entry-subdomains', {
  docker: true,
  compose: { runtimeDomain: DOMAIN },
  serverEnv: { RUNTIME_MEMORY_MB: '2048' },
  browserArgs: (server) => [
    `--host-resolver-rules=MAP ${DOMAIN} 127.0.0.1,MAP *.${DOMAIN} 127.0.0.1`,
    `--unsafely-treat-insecure-origin-as-secure=${[server.baseUrl, ...USERS.map((username) => hostOf(server, username))].join(',')}`,
  ],
});
const ADMIN = { username: 'root-admin', password: 'admin-password-1' };
const ALICE = { username: 'alice', password: 'alice-password-1' };
const BOB = { username: 'bob', password: 'bob-password-1' };
/** From a click to a healthy gateway: 30-90 s here, more on a busy machine. */
const START_MS = 240_000;
const SLOW = { timeout: 480_000 };

/**
 * A page an agent could write and serve from its runtime's host to the user's own browser. Its script
 * tries what such a page would against the platform, and reports.
 */
function agentPage(platformUrl, otherHost) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>agent page</title></head><body><script>
const results = { cookie: document.cookie };
async function attempt(name, request) {
  try {
    const response = await request();
    results[name] = { status: response.status, type: response.type, body: response.type === 'opaque' ? null : (await response.text()).slice(0, 200) };
  } catch (error) {
    results[name] = { error: String(error) };
  }
}
(async () => {
  const json = (method, body) => ({ method, credentials: 'include', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  // A "simple" request the browser sends without asking first (no-cors allows only GET, HEAD and POST).
  const blind = (body) => ({ method: 'POST', credentials: 'include', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify(body) });
  await attempt('readMe', () => fetch(${JSON.stringify(`${platformUrl}/api/me`)}, { credentials: 'include' }));
  await attempt('changePassword', () => fetch(${JSON.stringify(`${platformUrl}/api/me/password`)}, json('PATCH', { currentPassword: 'x', newPassword: 'taken-over-1' })));
  await attempt('createUser', () => fetch(${JSON.stringify(`${platformUrl}/api/users`)}, json('POST', { username: 'mallory', password: 'mallory-password-1', role: 'admin' })));
  await attempt('createUserBlind', () => fetch(${JSON.stringify(`${platformUrl}/api/users`)}, blind({ username: 'mallory', password: 'mallory-password-1', role: 'admin' })));
  await attempt('readOtherRuntime', () => fetch(${JSON.stringify(`${otherHost}/`)}, { credentials: 'include' }));
  document.body.dataset.results = JSON.stringify(results);
})();
</script></body></html>`;
}

describe('per-user subdomains through Traefik', () => {
  let admin;
  let alice;
  let bob;
  let page;
  let gateway;

  before(async () => {
    const api = stack.server.apiUrl;
    await setupAdmin(api, ADMIN.username, ADMIN.password);
    admin = await apiSession(api, ADMIN.username, ADMIN.password);
    for (const user of [ALICE, BOB]) {
      const created = await admin.post('/users', { ...user, role: 'user' });
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }
    alice = await apiSession(api, ALICE.username, ALICE.password);
    bob = await apiSession(api, BOB.username, BOB.password);
  });

  stack.scenario(
    '"Open Control UI" opens the user’s own host, signed in there without a token prompt or pairing',
    async () => {
      assert.equal((await alice.post('/runtime/start')).body.runtime.state, 'running');
      page = await stack.newPage();
      gateway = watchGateway(page);
      await page.goto('/');
      await signIn(page, ALICE.username, ALICE.password);
      const open = page.getByTestId('runtime-open');
      assert.equal(await open.getAttribute('href'), `${hostOf(stack.server, 'alice')}/`);
      await open.click();
      await page.waitForURL((url) => url.origin === hostOf(stack.server, 'alice'), { timeout: 60_000 });
      await expectControlUiUsable(page, gateway, 1, '/');
      await stack.shot(page, 'control-ui-on-own-host');
    },
    SLOW,
  );

  stack.scenario(
    'a link to the user’s host while signed out: sign in on the platform, then straight back',
    async () => {
      const visitor = await stack.newPage();
      const watcher = watchGateway(visitor);
      await visitor.goto(`${hostOf(stack.server, 'alice')}/chat?session=main`);
      await visitor.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
      assert.equal(new URL(visitor.url()).origin, stack.server.baseUrl);
      await signIn(visitor, ALICE.username, ALICE.password);
      await visitor.waitForURL((url) => url.origin === hostOf(stack.server, 'alice'), { timeout: START_MS });
      // Back where the link pointed (the Control UI then moves /chat?session=main to /chat/main itself).
      assert.match(new URL(visitor.url()).pathname, /^\/chat/);
      await expectControlUiUsable(visitor, watcher, 1, '/');
      await visitor.close();
    },
    SLOW,
  );

  stack.scenario(
    'a page the agent wrote, served from the runtime’s host, cannot read or change anything on the platform',
    async () => {
      // OpenClaw hands its canvas documents only to paired nodes (a capability URL), so the agent's page
      // comes from a server of its own: a container on alice's network, routed by Traefik on alice's host
      // under /agent-pages/ exactly as her runtime is (the same forward-auth and header middlewares).
      const runtime = `${stack.server.runtimePrefix}-rt-alice`;
      const labels = JSON.parse(execFileSync('docker', ['inspect', '-f', '{{json .Config.Labels}}', runtime], { encoding: 'utf8' }));
      const router = `traefik.http.routers.${runtime}`;
      const pages = `${runtime}-agent-pages`;
      const html = agentPage(stack.server.baseUrl, hostOf(stack.server, 'bob'));
      const server = `require('node:http').createServer((req, res) => res.setHeader('Content-Type', 'text/html').end(${JSON.stringify(html)})).listen(18789)`;
      execFileSync('docker', [
        'run', '-d', '--no-healthcheck', '--name', pages, '--network', labels['traefik.docker.network'], '--entrypoint', 'node',
        '--label', `org.crewclaw.platform=${labels['org.crewclaw.platform']}`,
        '--label', `org.crewclaw.routing=${labels['org.crewclaw.routing']}`,
        '--label', 'traefik.enable=true',
        '--label', `traefik.docker.network=${labels['traefik.docker.network']}`,
        '--label', `traefik.http.routers.${pages}.rule=${labels[`${router}.rule`]} && PathPrefix(\`/agent-pages/\`)`,
        '--label', `traefik.http.routers.${pages}.entrypoints=${labels[`${router}.entrypoints`]}`,
        '--label', `traefik.http.routers.${pages}.middlewares=${labels[`${router}.middlewares`]}`,
        '--label', `traefik.http.routers.${pages}.service=${pages}`,
        '--label', `traefik.http.services.${pages}.loadbalancer.server.port=18789`,
        execFileSync('docker', ['inspect', '-f', '{{.Config.Image}}', runtime], { encoding: 'utf8' }).trim(),
        '-e', server,
      ]);
      try {
        // Alice's own browser, signed in on the platform and on her runtime's host.
        const address = `${hostOf(stack.server, 'alice')}/agent-pages/report.html`;
        // Until Traefik has routed it (about two seconds), the Control UI answers the address with its own page.
        await eventually(async () => (await page.goto(address)) && (await page.title()), (title) => title === 'agent page', { timeoutMs: 30_000, what: 'the agent page served on alice’s host' });
        await page.waitForSelector('body[data-results]', { state: 'attached', timeout: 30_000 });
        const results = JSON.parse(await page.locator('body').getAttribute('data-results'));
        // Nothing readable: neither the platform's answers nor another runtime's (the browser refuses them,
        // or hands over an opaque answer for a blind request), and no cookie of ours in reach.
        for (const name of ['readMe', 'changePassword', 'createUser', 'readOtherRuntime']) assert.match(results[name].error ?? '', /TypeError/, `${name}: ${JSON.stringify(results[name])}`);
        for (const name of ['createUserBlind']) assert.ok(/TypeError/.test(results[name].error ?? '') || results[name].type === 'opaque', `${name}: ${JSON.stringify(results[name])}`);
        assert.doesNotMatch(results.cookie, /crewclaw/);
        await stack.shot(page, 'agent-page');
      } finally {
        execFileSync('docker', ['rm', '-f', pages]);
      }
      // And nothing changed: the password still works, no user was made.
      await apiSession(stack.server.apiUrl, ALICE.username, ALICE.password);
      const users = (await admin.get('/users')).body.users.map((user) => user.username);
      assert.deepEqual(users.sort(), [ADMIN.username, ALICE.username, BOB.username].sort());
    },
    SLOW,
  );

  stack.scenario(
    'another user’s host and a host nobody has: our 404 page, never another user’s UI',
    async () => {
      // Bob's runtime running and routed: a check that let alice through would show his Control UI.
      assert.equal((await bob.post('/runtime/start')).body.runtime.state, 'running');
      for (const host of [hostOf(stack.server, 'bob'), `http://nobody.${DOMAIN}:${new URL(stack.server.baseUrl).port}`]) {
        const response = await page.goto(`${host}/`);
        assert.deepEqual({ status: response.status(), page: await page.locator('main[data-page]').getAttribute('data-page') }, { status: 404, page: 'not_found' }, host);
        assert.equal(await page.locator('[data-openclaw-control-ui-base-path]').count(), 0, `${host} showed a Control UI`);
      }
    },
    SLOW,
  );
});
