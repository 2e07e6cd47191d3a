// Chromium through playwright-core (the Debian package; Playwright's own download
// is not available here), plus the small helpers the specs share.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { cleanUpOnExit, runtimeLogs, runtimeResources, sweepOrphans } from './docker.mjs';
import { startComposeStack } from './compose.mjs';
import { startServer } from './server.mjs';

export const artifactsDir = fileURLToPath(new URL('../artifacts', import.meta.url));
mkdirSync(artifactsDir, { recursive: true });

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/**
 * Sets up one spec file: a control plane and a browser shared by its tests, torn
 * down at the end whatever happened. Returns a getter for both and `scenario()`,
 * a `test()` that on failure saves a screenshot of every open page and prints the
 * server's output.
 *
 * `docker: true` is for specs that really start runtimes: leftovers of killed earlier
 * runs are swept first, and everything this run's control plane made in Docker is
 * removed at the end (also when a test failed, or the process is told to stop).
 * `serverEnv` adds settings for the control plane. `compose: true` runs the whole stack as users do
 * (Traefik in front, the control plane's image; support/compose.mjs) instead of the bare control plane;
 * `compose: { runtimeDomain }` with a runtime host per user. `browserArgs(server)` adds Chromium flags
 * that depend on the running stack (its ports).
 */
export function useStack(prefix, { docker = false, compose = false, serverEnv = {}, browserArgs = () => [] } = {}) {
  const env = { server: null, browser: null, pages: new Set(), pageErrors: [], cleanDocker: null };

  before(async () => {
    if (docker) {
      sweepOrphans();
      env.cleanDocker = cleanUpOnExit(serverEnv.RUNTIME_NAME_PREFIX);
    }
    env.server = compose ? await startComposeStack({ env: serverEnv, ...(compose === true ? {} : compose) }) : await startServer({ env: serverEnv });
    env.browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...ARGS, ...browserArgs(env.server)] });
  });

  after(async () => {
    await env.browser?.close().catch(() => undefined);
    await env.server?.stop();
    if (env.cleanDocker) {
      env.cleanDocker();
      const left = runtimeResources(env.server?.runtimePrefix);
      if (left.length > 0) throw new Error(`Docker resources left behind: ${left.join(', ')}`);
    }
  });

  /** A fresh browser profile (own cookies and localStorage), like a second person; `baseURL` for another server. */
  async function newPage({ locale = 'en-US', viewport = DESKTOP, baseURL = env.server.baseUrl } = {}) {
    const context = await env.browser.newContext({ baseURL, locale, viewport });
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    page.on('pageerror', (error) => env.pageErrors.push(`${page.url()}: ${error.message}`));
    env.pages.add(page);
    page.on('close', () => env.pages.delete(page));
    return page;
  }

  async function shot(page, name) {
    await page.screenshot({ path: path.join(artifactsDir, `${prefix}-${name}.png`), fullPage: true });
  }

  /** `options` go to node:test's test() (e.g. `{ timeout }`). */
  function scenario(name, fn, options = {}) {
    test(name, options, async (t) => {
      try {
        await fn(t);
        if (env.pageErrors.length > 0) throw new Error(`Uncaught errors in the page:\n${env.pageErrors.join('\n')}`);
      } catch (error) {
        let i = 0;
        for (const page of env.pages) {
          await shot(page, `FAILED-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}-${i++}`).catch(() => undefined);
        }
        if (env.server) console.error(env.server.output());
        if (docker) console.error(runtimeLogs(env.server?.runtimePrefix));
        throw error;
      } finally {
        env.pageErrors.length = 0;
      }
    });
  }

  return { get server() { return env.server; }, newPage, shot, scenario };
}

/** Polls until `read()` returns something `check` accepts; fails with the last value seen. */
export async function eventually(read, check, { timeoutMs = 10_000, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await read();
    if (check(last)) return last;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until the element's text contains `text` (and returns the whole text). */
export function expectText(locator, text) {
  return eventually(
    async () => ((await locator.count()) > 0 ? (await locator.first().innerText()).trim() : null),
    (value) => value !== null && value.includes(text),
    { what: `text "${text}"` },
  );
}

/** Fills a sign-in form and submits it. */
export async function signIn(page, username, password, labels = { username: 'Username', password: 'Password', submit: 'Sign in' }) {
  await page.getByLabel(labels.username, { exact: true }).fill(username);
  await page.getByLabel(labels.password, { exact: true }).fill(password);
  await page.getByRole('button', { name: labels.submit, exact: true }).click();
}
