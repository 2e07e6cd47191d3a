// The audit log as an admin sees it: an action of theirs shows up, filters narrow the list, pages
// go older and newer, the CSV download keeps the filters, the screen fits a phone, and it reads in
// both languages. A member has no such screen.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { before, describe } from 'node:test';
import { PHONE, expectText, signIn, useStack } from '../support/browser.mjs';
import { apiSession, setupAdmin } from '../support/server.mjs';

const stack = useStack('audit');
const ADMIN = { username: 'audit-admin', password: 'admin-password-1' };
const MEMBER = { username: 'carol', password: 'carol-password-1' };
const zh = { username: '用户名', password: '密码', submit: '登录' };

describe('audit log', () => {
  let admin;
  const rows = () => admin.locator('tr[data-audit-id]');

  before(async () => {
    await setupAdmin(stack.server.baseUrl, ADMIN.username, ADMIN.password);
  });

  stack.scenario('an admin creates a user, then finds it in the audit log by its action', async () => {
    admin = await stack.newPage();
    await admin.goto('/');
    await signIn(admin, ADMIN.username, ADMIN.password);
    await admin.getByRole('link', { name: 'Users' }).click();
    await admin.getByLabel('Username', { exact: true }).fill(MEMBER.username);
    await admin.getByLabel('Password', { exact: true }).fill(MEMBER.password);
    await admin.getByRole('button', { name: 'Create user' }).click();
    await expectText(admin.getByRole('status'), `User ${MEMBER.username} was created.`);

    await admin.getByRole('link', { name: 'Audit log' }).click();
    await admin.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
    assert.match(admin.url(), /#\/audit$/);
    assert.equal(await admin.title(), 'Audit log · CrewClaw');
    // Unfiltered: the setup, the sign-in and the new user, newest first.
    await expectText(rows().first(), 'user.create');
    assert.deepEqual(await rows().evaluateAll((trs) => trs.map((tr) => tr.dataset.action)), ['user.create', 'auth.login', 'setup']);

    await admin.getByLabel('What (action)').fill('user.create');
    await admin.getByRole('button', { name: 'Apply filters' }).click();
    await admin.getByRole('heading', { name: 'Matching entries, newest first' }).waitFor();
    await eventuallyCount(rows(), 1);
    const entry = rows().first();
    await expectText(entry, ADMIN.username);
    await expectText(entry, MEMBER.username);
    await expectText(entry, 'Succeeded');
    await entry.getByText('More', { exact: true }).click();
    await expectText(entry, '"role": "user"');
    await stack.shot(admin, 'filtered-en');

    // Nothing matches a failure of it.
    await admin.getByLabel('Result').selectOption('failure');
    await admin.getByRole('button', { name: 'Apply filters' }).click();
    await expectText(admin.locator('.list-empty'), 'No entries match these filters.');
    await admin.getByLabel('Result').selectOption('');
    await admin.getByRole('button', { name: 'Apply filters' }).click();
    await eventuallyCount(rows(), 1);
  });

  stack.scenario('the CSV download holds the filtered entries only', async () => {
    const [download] = await Promise.all([admin.waitForEvent('download'), admin.getByRole('link', { name: 'Download CSV' }).click()]);
    assert.match(download.suggestedFilename(), /^crewclaw-audit-\d{4}-\d{2}-\d{2}\.csv$/);
    const lines = (await readFile(await download.path(), 'utf8')).trim().split('\n');
    assert.equal(lines[0], 'id,at,actor,actorId,action,target,result,requestId,ip,detail');
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[1], new RegExp(`,${ADMIN.username},\\d+,user\\.create,${MEMBER.username},success,`));

    const jsonl = admin.getByRole('link', { name: 'Download JSON lines' });
    assert.match((await jsonl.getAttribute('href')) ?? '', /^\/api\/audit\.jsonl\?action=user\.create$/);
  });

  stack.scenario('a prefix pages older and newer through many entries', async () => {
    const api = await apiSession(stack.server.baseUrl, ADMIN.username, ADMIN.password);
    for (let n = 0; n < 55; n += 1) {
      const created = await api.post('/users', { username: `bulk-${n}`, password: 'bulk-password-1', role: 'user' });
      assert.equal(created.status, 201);
    }
    await admin.getByLabel('What (action)').fill('user.');
    await admin.getByRole('button', { name: 'Apply filters' }).click();
    await eventuallyCount(rows(), 50);
    await expectText(rows().first(), 'bulk-54');
    const newer = admin.getByRole('button', { name: '← Newer' });
    const older = admin.getByRole('button', { name: 'Older →' });
    assert.equal(await newer.isDisabled(), true);
    await older.click();
    // 56 user.create entries: 6 left, the oldest being the one made in the browser.
    await eventuallyCount(rows(), 6);
    await expectText(rows().last(), MEMBER.username);
    assert.equal(await older.isDisabled(), true);
    await newer.click();
    await eventuallyCount(rows(), 50);
    await expectText(rows().first(), 'bulk-54');
  });

  stack.scenario('the audit log fits a phone screen', async () => {
    await admin.setViewportSize(PHONE);
    const overflow = await admin.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone screen`);
    assert.equal(await rows().first().isVisible(), true);
    assert.equal(await admin.getByRole('link', { name: 'Download CSV' }).isVisible(), true);
    await stack.shot(admin, 'phone-en');
    await admin.context().close();
  });

  stack.scenario('in Chinese: the screen, its filters and its results', async () => {
    const page = await stack.newPage({ locale: 'zh-CN' });
    await page.goto('/');
    await signIn(page, ADMIN.username, ADMIN.password, zh);
    await page.getByRole('link', { name: '审计日志' }).click();
    await page.getByRole('heading', { name: '审计日志', level: 1 }).waitFor();
    await page.getByLabel('操作', { exact: true }).fill('user.create');
    await page.getByLabel('对象', { exact: true }).fill(MEMBER.username);
    await page.getByRole('button', { name: '应用筛选' }).click();
    await page.getByRole('heading', { name: '符合条件的记录（最新在前）' }).waitFor();
    await eventuallyCount(page.locator('tr[data-audit-id]'), 1);
    await expectText(page.locator('tr[data-audit-id]').first(), '成功');
    await page.getByRole('link', { name: '下载 CSV' }).waitFor();
    await stack.shot(page, 'filtered-zh');
    await page.context().close();
  });

  stack.scenario('a member has no audit log, in the menu or by its address', async () => {
    const member = await stack.newPage();
    await member.goto('/');
    await signIn(member, MEMBER.username, MEMBER.password);
    await member.getByRole('heading', { name: `Hello, ${MEMBER.username}` }).waitFor();
    assert.equal(await member.getByRole('link', { name: 'Audit log' }).count(), 0);
    await member.goto('/#/audit');
    await member.getByRole('heading', { name: `Hello, ${MEMBER.username}` }).waitFor();
    assert.equal(await member.getByRole('heading', { name: 'Audit log' }).count(), 0);
    await member.context().close();
  });
});

async function eventuallyCount(locator, count) {
  const deadline = Date.now() + 10_000;
  let seen;
  while ((seen = await locator.count()) !== count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} rows, saw ${seen}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
