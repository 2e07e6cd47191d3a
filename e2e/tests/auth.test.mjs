// First run, signing in and out, wrong passwords, changing my own password.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { PHONE, expectText, signIn, useStack } from '../support/browser.mjs';

const stack = useStack('auth');
const ADMIN = 'admin';
const PASSWORD = 'first-admin-pass';
const NEW_PASSWORD = 'second-admin-pass';

describe('first run and signing in', () => {
  let page;

  stack.scenario('first visit shows setup; creating the admin lands on home, signed in', async () => {
    page = await stack.newPage();
    await page.goto('/');
    await page.getByRole('heading', { name: 'Set up CrewClaw' }).waitFor();
    assert.equal(await page.title(), 'Set up CrewClaw · CrewClaw');
    await stack.shot(page, 'setup-en');

    // The confirmation is checked before anything is sent.
    await page.getByLabel('Username', { exact: true }).fill(ADMIN);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Confirm password', { exact: true }).fill('something-else');
    await page.getByRole('button', { name: 'Create administrator' }).click();
    await expectText(page.locator('#setup-confirm-error'), 'The passwords do not match.');
    assert.equal(await page.getByLabel('Confirm password', { exact: true }).getAttribute('aria-invalid'), 'true');

    await page.getByLabel('Confirm password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Create administrator' }).click();
    await page.getByRole('heading', { name: `Hello, ${ADMIN}` }).waitFor();
    await expectText(page.getByTestId('account-role'), 'Administrator');
    await page.getByRole('link', { name: 'Users' }).waitFor();
    await stack.shot(page, 'home-admin-en');

    const status = await (await fetch(`${stack.server.baseUrl}/api/setup`)).json();
    assert.deepEqual(status, { needed: false });
  });

  stack.scenario('a reload keeps me signed in', async () => {
    await page.reload();
    await page.getByRole('heading', { name: `Hello, ${ADMIN}` }).waitFor();
  });

  stack.scenario('signing out shows sign-in, and signing in brings me home', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await expectText(page.getByRole('status'), 'You have signed out.');

    // Still signed out after a reload: the cookie is really gone.
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();

    await signIn(page, ADMIN, PASSWORD);
    await page.getByRole('heading', { name: `Hello, ${ADMIN}` }).waitFor();
    const lastSignIn = await page.locator('.facts > div', { hasText: 'Last sign-in' }).locator('dd').innerText();
    assert.notEqual(lastSignIn.trim(), 'Never', 'the last sign-in time is shown');
  });

  stack.scenario('a wrong password shows a translated error and keeps me out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();

    await signIn(page, ADMIN, 'not-the-password');
    await expectText(page.getByRole('alert'), 'Wrong username or password.');
    assert.equal(await page.getByLabel('Password', { exact: true }).inputValue(), '', 'password is cleared for the next try');
    await stack.shot(page, 'signin-wrong-password-en');

    // Empty fields are caught before sending.
    await page.getByLabel('Username', { exact: true }).fill('');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expectText(page.locator('#signin-username-error'), 'This field is required.');

    await signIn(page, ADMIN, PASSWORD);
    await page.getByRole('heading', { name: `Hello, ${ADMIN}` }).waitFor();
  });

  stack.scenario('changing my password: the wrong current password is flagged on its field', async () => {
    await page.getByLabel('Current password').fill('not-my-password');
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Confirm new password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await expectText(page.locator('#current-password-error'), 'The current password is not correct.');
    await stack.shot(page, 'change-password-error-en');

    // Too short is the server's call, shown next to the new password.
    await page.getByLabel('Current password').fill(PASSWORD);
    await page.getByLabel('New password', { exact: true }).fill('short');
    await page.getByLabel('Confirm new password').fill('short');
    await page.getByRole('button', { name: 'Change password' }).click();
    await expectText(page.locator('#new-password-error'), 'Use 8 to 256 characters.');

    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Confirm new password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await expectText(page.getByRole('status'), 'Your password has been changed.');
    assert.equal(await page.getByLabel('Current password').inputValue(), '');
  });

  stack.scenario('after the change only the new password works', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, ADMIN, PASSWORD);
    await expectText(page.getByRole('alert'), 'Wrong username or password.');
    await signIn(page, ADMIN, NEW_PASSWORD);
    await page.getByRole('heading', { name: `Hello, ${ADMIN}` }).waitFor();
  });

  stack.scenario('home fits a phone screen', async () => {
    const phone = await stack.newPage({ viewport: PHONE });
    await phone.goto('/');
    await signIn(phone, ADMIN, NEW_PASSWORD);
    await phone.getByRole('heading', { name: `Hello, ${ADMIN}` }).waitFor();
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone screen`);
    await phone.getByRole('button', { name: 'Sign out' }).waitFor();
    await stack.shot(phone, 'home-phone-en');
    await phone.context().close();
  });
});
