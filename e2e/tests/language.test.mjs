// Both languages: detection from the browser, the switcher, persistence, and
// translated errors (including field errors that come from the server).
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { expectText, signIn, useStack } from '../support/browser.mjs';

const stack = useStack('language');
const ADMIN = { username: 'lin', password: 'lin-password-1' };
const zh = { username: '用户名', password: '密码', submit: '登录' };

describe('languages', () => {
  stack.scenario('a Chinese browser gets the setup screen in Chinese', async () => {
    const page = await stack.newPage({ locale: 'zh-CN' });
    await page.goto('/');
    await page.getByRole('heading', { name: '初始化 CrewClaw' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN');
    assert.equal(await page.getByRole('button', { name: '中文' }).getAttribute('aria-pressed'), 'true');
    await stack.shot(page, 'setup-zh');

    await page.getByLabel('用户名').fill(ADMIN.username);
    await page.getByLabel('密码', { exact: true }).fill(ADMIN.password);
    await page.getByLabel('确认密码').fill(ADMIN.password);
    await page.getByRole('button', { name: '创建管理员' }).click();
    await page.getByRole('heading', { name: `你好，${ADMIN.username}` }).waitFor();
    await expectText(page.getByTestId('account-role'), '管理员');
    await stack.shot(page, 'home-admin-zh');
    await page.context().close();
  });

  stack.scenario('switching to 中文 translates the page and survives a reload', async () => {
    const page = await stack.newPage({ locale: 'en-US' });
    await page.goto('/');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');

    await page.getByRole('button', { name: '中文' }).click();
    await page.getByRole('heading', { name: '登录' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN');
    assert.equal(await page.title(), '登录 · CrewClaw');

    await page.reload();
    await page.getByRole('heading', { name: '登录' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN');

    // Errors from the server arrive translated.
    await signIn(page, ADMIN.username, 'wrong-password', zh);
    await expectText(page.getByRole('alert'), '用户名或密码错误。');
    await stack.shot(page, 'signin-wrong-password-zh');

    await signIn(page, ADMIN.username, ADMIN.password, zh);
    await page.getByRole('heading', { name: `你好，${ADMIN.username}` }).waitFor();
    await page.getByRole('link', { name: '用户管理' }).click();
    await page.getByRole('heading', { name: '用户管理', level: 1 }).waitFor();

    // A server-side field error, in Chinese, next to its field.
    await page.getByLabel('用户名', { exact: true }).fill('9lives');
    await page.getByLabel('密码', { exact: true }).fill('some-password-1');
    await page.getByRole('button', { name: '创建用户' }).click();
    await expectText(page.locator('#create-username-error'), '请使用 2–32 个小写字母、数字或连字符，并以字母开头。');
    await stack.shot(page, 'users-zh');

    // Switching back changes the page in place, errors included.
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    await expectText(page.locator('#create-username-error'), 'Use 2 to 32 lowercase letters');
    await page.reload();
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    await page.context().close();
  });
});
