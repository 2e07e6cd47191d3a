// User administration as an admin, seen from the admin's and the member's browser.
import assert from 'node:assert/strict';
import { before, describe } from 'node:test';
import { PHONE, expectText, signIn, useStack } from '../support/browser.mjs';
import { setupAdmin } from '../support/server.mjs';

const stack = useStack('users');
const ADMIN = { username: 'root-admin', password: 'admin-password-1' };
const MEMBER = { username: 'alice', password: 'alice-password-1' };

describe('user administration', () => {
  let admin;
  let member;
  const row = (name) => admin.locator(`tr[data-username="${name}"]`);

  before(async () => {
    await setupAdmin(stack.server.baseUrl, ADMIN.username, ADMIN.password);
  });

  stack.scenario('the admin opens Users and sees their own, protected row', async () => {
    admin = await stack.newPage();
    await admin.goto('/');
    await signIn(admin, ADMIN.username, ADMIN.password);
    await admin.getByRole('link', { name: 'Users' }).click();
    await admin.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    assert.match(admin.url(), /#\/users$/);
    await expectText(row(ADMIN.username), 'you');
    await expectText(row(ADMIN.username), 'Administrator');
    // Your own account cannot be disabled, demoted or deleted from here.
    assert.equal(await row(ADMIN.username).getByRole('button', { name: 'Disable' }).isDisabled(), true);
    assert.equal(await row(ADMIN.username).getByRole('button', { name: 'Delete' }).isDisabled(), true);
    assert.equal(await row(ADMIN.username).getByRole('combobox').isDisabled(), true);
  });

  stack.scenario('a bad username shows the error next to the username field', async () => {
    const username = admin.getByLabel('Username', { exact: true });
    await username.fill('Bad Name');
    await expectText(admin.locator('#create-username-hint'), 'Not valid yet');
    await admin.getByLabel('Password', { exact: true }).fill('whatever-password');
    await admin.getByRole('button', { name: 'Create user' }).click();

    await expectText(admin.locator('#create-username-error'), 'Use 2 to 32 lowercase letters, digits or hyphens, starting with a letter.');
    assert.equal(await username.getAttribute('aria-invalid'), 'true');
    assert.match((await username.getAttribute('aria-describedby')) ?? '', /create-username-error/);
    await expectText(admin.getByRole('alert'), 'Some fields need attention.');
    await stack.shot(admin, 'create-user-bad-username-en');
    assert.equal(await row('bad name').count(), 0);
  });

  stack.scenario('the admin creates a member; a taken name is refused on the field', async () => {
    await admin.getByLabel('Username', { exact: true }).fill(MEMBER.username);
    await admin.getByLabel('Password', { exact: true }).fill(MEMBER.password);
    await admin.getByLabel('Role', { exact: true }).selectOption('user');
    await admin.getByRole('button', { name: 'Create user' }).click();
    await expectText(admin.getByRole('status'), `User ${MEMBER.username} was created.`);
    await expectText(row(MEMBER.username), 'Active');
    await expectText(row(MEMBER.username), 'Never');
    assert.equal(await row(MEMBER.username).getByRole('combobox').inputValue(), 'user');
    assert.equal(await admin.getByLabel('Username', { exact: true }).inputValue(), '', 'the form is cleared');

    await admin.getByLabel('Username', { exact: true }).fill(MEMBER.username);
    await admin.getByLabel('Password', { exact: true }).fill('another-password');
    await admin.getByRole('button', { name: 'Create user' }).click();
    await expectText(admin.locator('#create-username-error'), 'This username is already taken.');
    await admin.getByLabel('Username', { exact: true }).fill('');
    await admin.getByLabel('Password', { exact: true }).fill('');

    // The list is the server's: a reload shows the same member.
    await admin.reload();
    await expectText(row(MEMBER.username), 'Member');
    await stack.shot(admin, 'users-en');
  });

  stack.scenario('the member signs in in another browser and has no Users screen', async () => {
    member = await stack.newPage();
    await member.goto('/');
    await signIn(member, MEMBER.username, MEMBER.password);
    await member.getByRole('heading', { name: `Hello, ${MEMBER.username}` }).waitFor();
    await expectText(member.getByTestId('account-role'), 'Member');
    assert.equal(await member.getByRole('link', { name: 'Users' }).count(), 0);

    // Typing the address does not help either.
    await member.goto('/#/users');
    await member.getByRole('heading', { name: `Hello, ${MEMBER.username}` }).waitFor();
    assert.equal(await member.getByRole('heading', { name: 'Users' }).count(), 0);
    await stack.shot(member, 'home-member-en');

    // The admin sees the sign-in time.
    await admin.getByRole('button', { name: 'Reload' }).click();
    await eventuallyNot(row(MEMBER.username), 'Never');
  });

  stack.scenario("disabling the member sends them to sign-in on their next action", async () => {
    await row(MEMBER.username).getByRole('button', { name: 'Disable' }).click();
    await expectText(admin.getByRole('status'), `${MEMBER.username} was disabled`);
    await expectText(row(MEMBER.username), 'Disabled');
    await row(MEMBER.username).getByRole('button', { name: 'Enable' }).waitFor();

    // The member, still looking at home, tries to change their password.
    await member.getByLabel('Current password').fill(MEMBER.password);
    await member.getByLabel('New password', { exact: true }).fill('alice-password-2');
    await member.getByLabel('Confirm new password').fill('alice-password-2');
    await member.getByRole('button', { name: 'Change password' }).click();
    await member.getByRole('heading', { name: 'Sign in' }).waitFor();
    await expectText(member.getByRole('status'), 'Your session has ended. Please sign in again.');
    await stack.shot(member, 'member-session-ended-en');

    await signIn(member, MEMBER.username, MEMBER.password);
    await expectText(member.getByRole('alert'), 'Wrong username or password.');
  });

  stack.scenario('the admin enables and resets the member, who can sign in with the new password', async () => {
    await row(MEMBER.username).getByRole('button', { name: 'Enable' }).click();
    await expectText(row(MEMBER.username), 'Active');

    await row(MEMBER.username).getByRole('button', { name: 'Reset password' }).click();
    const dialog = admin.getByRole('dialog', { name: `Reset password for ${MEMBER.username}` });
    await dialog.waitFor();
    await dialog.getByLabel('New password', { exact: true }).fill('fresh-password-1');
    await dialog.getByLabel('Confirm new password').fill('fresh-password-2');
    await dialog.getByRole('button', { name: 'Set new password' }).click();
    await expectText(dialog.locator('#reset-confirm-error'), 'The passwords do not match.');
    await dialog.getByLabel('Confirm new password').fill('fresh-password-1');
    await stack.shot(admin, 'reset-password-dialog-en');
    await dialog.getByRole('button', { name: 'Set new password' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await expectText(admin.getByRole('status'), `The password of ${MEMBER.username} was reset.`);

    await signIn(member, MEMBER.username, 'fresh-password-1');
    await member.getByRole('heading', { name: `Hello, ${MEMBER.username}` }).waitFor();
  });

  stack.scenario('a member promoted to admin gets the Users screen', async () => {
    await row(MEMBER.username).getByRole('combobox').selectOption('admin');
    await expectText(admin.getByRole('status'), `${MEMBER.username} is now: Administrator.`);
    await member.reload();
    await member.getByRole('link', { name: 'Users' }).waitFor();
    await row(MEMBER.username).getByRole('combobox').selectOption('user');
    await expectText(admin.getByRole('status'), `${MEMBER.username} is now: Member.`);
  });

  stack.scenario('deleting asks first; cancel keeps the user, confirm removes them', async () => {
    await row(MEMBER.username).getByRole('button', { name: 'Delete' }).click();
    const dialog = admin.getByRole('dialog', { name: `Delete ${MEMBER.username}?` });
    await dialog.waitFor();
    await stack.shot(admin, 'delete-dialog-en');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await row(MEMBER.username).count(), 1);

    await row(MEMBER.username).getByRole('button', { name: 'Delete' }).click();
    await dialog.getByRole('button', { name: 'Delete user' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await expectText(admin.getByRole('status'), `${MEMBER.username} was deleted.`);
    assert.equal(await row(MEMBER.username).count(), 0);

    await admin.reload();
    await row(ADMIN.username).waitFor();
    assert.equal(await row(MEMBER.username).count(), 0);
  });

  stack.scenario('the Users screen fits a phone screen', async () => {
    await admin.getByLabel('Username', { exact: true }).fill('bob');
    await admin.getByLabel('Password', { exact: true }).fill('bob-password-1');
    await admin.getByRole('button', { name: 'Create user' }).click();
    await row('bob').waitFor();

    await admin.setViewportSize(PHONE);
    const overflow = await admin.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone screen`);
    assert.equal(await row('bob').getByRole('button', { name: 'Disable' }).isVisible(), true);
    await stack.shot(admin, 'users-phone-en');
  });
});

async function eventuallyNot(locator, text) {
  const deadline = Date.now() + 10_000;
  while ((await locator.innerText()).includes(text)) {
    if (Date.now() > deadline) throw new Error(`"${text}" is still shown`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
