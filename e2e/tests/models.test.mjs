// A user's agent thinking, end to end: an admin sets up a provider and a model in the web UI; the user
// types in their OpenClaw Control UI's chat; the answer streams back from our stand-in provider through
// LiteLLM and the control plane's /v1; and the user's usage page shows the call. The whole stack from
// compose.yaml (Traefik, the control plane, LiteLLM), the real OpenClaw image, real Chromium.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe } from 'node:test';
import { tsImport } from 'tsx/esm/api';
import { eventually, expectText, signIn, useStack } from '../support/browser.mjs';
import { expectControlUiUsable, watchGateway } from '../support/control-ui.mjs';
import { E2E_PREFIX } from '../support/docker.mjs';
import { apiSession, setupAdmin } from '../support/server.mjs';

const { startOpenAiStandIn, STAND_IN_WORDS } = await tsImport('../../server/test/support/openai-stand-in.ts', import.meta.url);

const stack = useStack('models', { docker: true, compose: true, serverEnv: { RUNTIME_MEMORY_MB: '2048' } });
const ADMIN = { username: 'root-admin', password: 'admin-password-1' };
const ALICE = { username: 'alice', password: 'alice-password-1' };
const PROVIDER_KEY = 'sk-e2e-provider-key-5d1c0f9b';
const START_MS = 240_000;
const SLOW = { timeout: 600_000 };

describe('models: from the admin’s set-up to a chat answer and the usage page', () => {
  let standIn;
  let alice;
  let providerBaseUrl;

  before(async () => {
    await setupAdmin(stack.server.baseUrl, ADMIN.username, ADMIN.password);
    const admin = await apiSession(stack.server.baseUrl, ADMIN.username, ADMIN.password);
    const created = await admin.post('/users', { ...ALICE, role: 'user' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    alice = await apiSession(stack.server.baseUrl, ALICE.username, ALICE.password);
    // LiteLLM reaches the host on its egress network's gateway: the stand-in listens there only.
    const gateway = execFileSync('docker', ['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', `${E2E_PREFIX}_models-egress`], { encoding: 'utf8' }).trim();
    standIn = await startOpenAiStandIn(gateway);
    providerBaseUrl = `http://${gateway}:${standIn.port}/v1`;
  });

  after(async () => {
    await standIn?.close();
  });

  stack.scenario(
    'an admin adds a provider and a model in the web UI; the key is never shown again',
    async () => {
      const page = await stack.newPage();
      await page.goto('/');
      await signIn(page, ADMIN.username, ADMIN.password);
      await page.getByRole('link', { name: 'Models' }).click();
      await page.getByRole('button', { name: 'Add provider' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Name').fill('Stand-in');
      await dialog.getByLabel('Kind').selectOption('openai_compatible');
      await dialog.getByLabel('Base URL').fill(providerBaseUrl);
      await dialog.getByLabel('API key').fill(PROVIDER_KEY);
      await dialog.getByRole('button', { name: 'Add provider' }).click();
      await expectText(page.locator('main'), 'Provider Stand-in was added.');
      assert.doesNotMatch(await page.content(), new RegExp(PROVIDER_KEY.slice(3)));
      // Nor in any field, the edit dialog's included.
      await page.getByRole('row', { name: /Stand-in/ }).getByRole('button', { name: 'Edit' }).click();
      const values = await page.locator('input').evaluateAll((inputs) => inputs.map((input) => input.value));
      assert.ok(!values.some((value) => value.includes(PROVIDER_KEY.slice(3))), JSON.stringify(values));
      await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();

      await page.getByRole('button', { name: 'Add model' }).click();
      const modelDialog = page.getByRole('dialog');
      await modelDialog.getByLabel('Name', { exact: true }).fill('stand-in');
      await modelDialog.getByLabel('Upstream model').fill('stand-in');
      await modelDialog.getByRole('button', { name: 'Add model' }).click();
      await expectText(page.locator('main'), 'Model stand-in was added.');
      // LiteLLM restarts with it; the page says when it is ready.
      await page.getByText('Ready', { exact: true }).waitFor({ timeout: 180_000 });
      await stack.shot(page, 'models-admin');
      await page.getByRole('button', { name: 'Check stand-in' }).click();
      await page.getByText(/^OK · /).waitFor({ timeout: 60_000 });
    },
    SLOW,
  );

  stack.scenario(
    'the user types in their Control UI’s chat, the answer streams back, and their usage page shows the call',
    async () => {
      const controlUi = await stack.newPage({ baseURL: stack.server.runtimeUrl });
      const gateway = watchGateway(controlUi);
      await controlUi.goto(`/u/${ALICE.username}/`);
      await signIn(controlUi, ALICE.username, ALICE.password);
      await controlUi.waitForURL((url) => url.origin === stack.server.runtimeUrl, { timeout: START_MS });
      await expectControlUiUsable(controlUi, gateway, 1, `/u/${ALICE.username}`);
      const box = controlUi.getByPlaceholder(/^Message /);
      await box.fill('Say hello.');
      await box.press('Enter');
      await controlUi.getByText(STAND_IN_WORDS.join(''), { exact: false }).first().waitFor({ timeout: 120_000 });
      await stack.shot(controlUi, 'models-chat');

      // What OpenClaw sent through LiteLLM to the provider: chat completions, streamed, for the default model.
      const calls = standIn.requests.filter((request) => request.path.endsWith('/chat/completions'));
      assert.ok(calls.length >= 1, JSON.stringify(standIn.requests.map((request) => request.path)));
      assert.equal(calls.at(-1).authorization, `Bearer ${PROVIDER_KEY}`);
      // What OpenClaw itself asked of /v1 (the control plane's request log): all of it answered, none unknown.
      const v1 = stack.server
        .compose('logs', '--no-color', '--no-log-prefix', 'control-plane')
        .split('\n')
        .flatMap((line) => {
          try {
            const entry = JSON.parse(line.slice(line.indexOf('{')));
            return entry.message === 'request' && entry.url?.startsWith('/v1') ? [`${entry.method} ${entry.url} ${entry.status}`] : [];
          } catch {
            return [];
          }
        });
      console.log(`OpenClaw's requests to /v1: ${JSON.stringify(v1)}`);
      assert.ok(v1.some((line) => line.startsWith('POST /v1/chat/completions 200')), JSON.stringify(v1));
      assert.deepEqual(v1.filter((line) => / (404|5\d\d)$/.test(line)), []);

      const usage = await eventually(async () => (await alice.get('/me/usage')).body, (body) => body.today.requests >= 1, { timeoutMs: 10_000, what: 'the call in the usage' });
      assert.ok(usage.today.tokens > 0);
      assert.deepEqual([...new Set(usage.days.map((row) => row.model))], ['stand-in']);

      const platform = await stack.newPage();
      await platform.goto('/');
      await signIn(platform, ALICE.username, ALICE.password);
      await platform.getByRole('link', { name: 'Usage' }).click();
      await platform.getByRole('heading', { name: 'Today' }).waitFor();
      await expectText(platform.locator('main'), 'stand-in');
      await stack.shot(platform, 'models-usage');
    },
    SLOW,
  );
});
