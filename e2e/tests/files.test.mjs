// The Files screen over a member's real runtime (real Docker daemon, real runtime image):
// the first visit starts the runtime behind a loading state; uploads of files (any name) and
// of a whole folder, with progress, the size limit and the replace prompt; folders and the
// breadcrumb; downloads and zips compared byte for byte; the text editor and its "changed
// meanwhile" guard; rename / move, copy, delete; a symlink out of the workspace refused with
// the server's words; both languages. Everything the control plane makes in Docker is removed
// afterwards, also when a test fails (useStack docker).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import { DESKTOP, PHONE, eventually, expectText, signIn, useStack } from '../support/browser.mjs';
import { E2E_PREFIX } from '../support/docker.mjs';
import { apiSession, setupAdmin } from '../support/server.mjs';

const MIB = 1024 * 1024;
const stack = useStack('files', {
  docker: true,
  serverEnv: { RUNTIME_IMAGE: process.env.CREWCLAW_TEST_RUNTIME_IMAGE ?? 'crewclaw/runtime:dev', MAX_UPLOAD_BYTES: String(8 * MIB) },
});
const ADMIN = { username: 'root-admin', password: 'admin-password-1' };
const MEMBER = { username: 'bob', password: 'bob-password-12' };
/** Creating and starting the container on the first files call; far more on a busy machine. */
const FIRST_CALL_MS = 120_000;
const SLOW = { timeout: 420_000 };

const CHINESE = '项目 计划 🚀.txt';
const CHINESE_BYTES = Buffer.from('第一版：计划\nline two 🚀\n', 'utf8');
const NOTES = 'notes.md';
const NOTES_TEXT = '# Notes\n\nfirst draft\n';
const BIG = 'big.bin';
const BIG_BYTES = randomBytes(6 * MIB);

describe('my files', () => {
  let page;
  let member;
  let tmp;

  const files = () => page.getByTestId('files');
  const row = (name) => files().locator(`tbody tr[data-name=${JSON.stringify(name)}]`);
  const names = async () => files().locator('tbody tr').evaluateAll((rows) => rows.map((tr) => tr.dataset.name));
  const button = (name) => page.getByRole('button', { name, exact: true });
  const dialog = () => page.getByRole('dialog');
  const select = (name) => page.getByRole('checkbox', { name: `Select ${name}`, exact: true }).check();
  const success = () => files().locator('.notice-success');
  const alert = () => page.getByRole('alert');
  const crumbs = () => page.getByTestId('breadcrumb');

  /** The file's bytes as the API serves them (what the runtime has). */
  async function stored(file) {
    const response = await member.raw('GET', `/files/content?path=${encodeURIComponent(file)}`);
    assert.equal(response.status, 200, `GET ${file}`);
    return Buffer.from(await response.arrayBuffer());
  }

  async function download(trigger) {
    const [file] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), trigger()]);
    const saved = path.join(tmp, `download-${Date.now()}-${file.suggestedFilename()}`);
    await file.saveAs(saved);
    return { name: file.suggestedFilename(), path: saved, bytes: readFileSync(saved) };
  }

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'crewclaw-e2e-files-'));
    await setupAdmin(stack.server.baseUrl, ADMIN.username, ADMIN.password);
    const admin = await apiSession(stack.server.baseUrl, ADMIN.username, ADMIN.password);
    const created = await admin.post('/users', { ...MEMBER, role: 'user' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    member = await apiSession(stack.server.baseUrl, MEMBER.username, MEMBER.password);
  });

  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  stack.scenario(
    'the first visit starts my runtime behind a loading state, then shows the empty workspace',
    async () => {
      page = await stack.newPage();
      await page.goto('/');
      await signIn(page, MEMBER.username, MEMBER.password);
      await page.getByRole('heading', { name: `Hello, ${MEMBER.username}` }).waitFor();
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Files' }).click();
      await page.getByRole('heading', { name: 'Files', level: 1 }).waitFor();
      assert.match(page.url(), /#\/files$/);
      // Never created yet: the listing call creates and starts it, which shows as a wait, not an error.
      await expectText(page.getByTestId('files-loading'), 'Starting your runtime');
      await page.getByTestId('files-empty').waitFor({ timeout: FIRST_CALL_MS });
      assert.equal(await alert().count(), 0, 'no error on the way');
      await expectText(crumbs(), 'Workspace');
      assert.equal(await crumbs().getByRole('link', { name: 'Workspace' }).getAttribute('aria-current'), 'page');
    },
    SLOW,
  );

  stack.scenario('uploading files, one named in Chinese with spaces and an emoji, lists them with their sizes', async () => {
    await page.getByTestId('upload-files').setInputFiles([
      { name: CHINESE, mimeType: 'text/plain', buffer: CHINESE_BYTES },
      { name: NOTES, mimeType: 'text/markdown', buffer: Buffer.from(NOTES_TEXT) },
      { name: '.hidden-settings', mimeType: 'text/plain', buffer: Buffer.from('x=1\n') },
    ]);
    await expectText(success(), 'Upload finished. Files saved: 3.');
    await row(CHINESE).waitFor();
    assert.deepEqual(await names(), ['.hidden-settings', NOTES, CHINESE]);
    await expectText(row(CHINESE).locator('td').nth(1), `${CHINESE_BYTES.length} B`);
    assert.match(await row(NOTES).locator('td').nth(3).innerText(), /^-rw-[r-][w-]-[r-][w-]-$/);
    assert.match(await row(NOTES).locator('td').nth(2).innerText(), /\d{4}/, 'a modified time with its year');
    // Hidden files are shown, dimmed.
    assert.equal(await row('.hidden-settings').evaluate((tr) => tr.classList.contains('entry-hidden')), true);
    assert.deepEqual(await stored(CHINESE), CHINESE_BYTES);
  });

  stack.scenario('a new folder appears first; I enter it and the breadcrumb takes me back', async () => {
    await button('New folder').click();
    await dialog().getByLabel('Folder name').fill('reports');
    await dialog().getByRole('button', { name: 'Create' }).click();
    await expectText(success(), 'Folder "reports" was created.');
    await row('reports').waitFor();
    assert.equal((await names())[0], 'reports', 'folders first');
    assert.equal(await row('reports').getAttribute('data-type'), 'folder');

    await row('reports').getByRole('link', { name: 'reports' }).click();
    await page.getByTestId('files-empty').waitFor();
    assert.match(page.url(), /#\/files\/reports$/);
    await expectText(crumbs(), 'reports');
    assert.equal(await crumbs().getByRole('link', { name: 'reports' }).getAttribute('aria-current'), 'page');

    await crumbs().getByRole('link', { name: 'Workspace' }).click();
    await row(CHINESE).waitFor();
    assert.match(page.url(), /#\/files$/);
  });

  stack.scenario('dropping files onto the list uploads them into the folder shown', async () => {
    await row('reports').getByRole('link', { name: 'reports' }).click();
    await page.getByTestId('files-empty').waitFor();
    // What the browser hands over on a drop from the desktop: a DataTransfer holding files.
    const transfer = await page.evaluateHandle(() => {
      const data = new DataTransfer();
      data.items.add(new File(['dropped here\n'], 'dropped.txt', { type: 'text/plain' }));
      return data;
    });
    await files().dispatchEvent('dragenter', { dataTransfer: transfer });
    await expectText(files().locator('.drop-overlay'), 'Drop to upload into reports');
    await files().dispatchEvent('drop', { dataTransfer: transfer });
    await row('dropped.txt').waitFor();
    assert.equal(await files().locator('.drop-overlay').count(), 0);
    assert.equal((await stored('reports/dropped.txt')).toString('utf8'), 'dropped here\n');
    await crumbs().getByRole('link', { name: 'Workspace' }).click();
    await row(CHINESE).waitFor();
  });

  stack.scenario('uploading a folder recreates it with everything inside', async () => {
    const album = path.join(tmp, 'album');
    mkdirSync(path.join(album, 'sub'), { recursive: true });
    writeFileSync(path.join(album, 'a.txt'), 'alpha\n');
    const inner = randomBytes(3000);
    writeFileSync(path.join(album, 'sub', 'b.bin'), inner);
    // playwright-core uploads a directory into a webkitdirectory input (each file with its webkitRelativePath).
    await page.getByTestId('upload-folder').setInputFiles(album);
    await expectText(success(), 'Files saved: 2.');
    await row('album').waitFor();
    assert.equal(await row('album').getAttribute('data-type'), 'folder');

    await row('album').getByRole('link', { name: 'album' }).click();
    await row('a.txt').waitFor();
    assert.deepEqual(await names(), ['sub', 'a.txt']);
    await row('sub').getByRole('link', { name: 'sub' }).click();
    await row('b.bin').waitFor();
    await expectText(crumbs(), 'album');
    await expectText(row('b.bin').locator('td').nth(1), '2.9 KiB');
    assert.deepEqual(await stored('album/sub/b.bin'), inner);
    await crumbs().getByRole('link', { name: 'album' }).click();
    await row('a.txt').waitFor();
    await crumbs().getByRole('link', { name: 'Workspace' }).click();
    await row(CHINESE).waitFor();
  });

  stack.scenario('a big upload shows its progress in bytes; one over the limit is refused with the server\'s reason', async () => {
    // Record every state of the progress box, however briefly it shows.
    await page.evaluate(() => {
      window.progressSeen = [];
      new MutationObserver(() => {
        const box = document.querySelector('[data-testid="upload-progress"]');
        if (box) window.progressSeen.push(box.textContent.replace(/\s+/g, ' ').trim());
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.getByTestId('upload-files').setInputFiles({ name: BIG, mimeType: 'application/octet-stream', buffer: BIG_BYTES });
    await expectText(success(), 'Files saved: 1.');
    await row(BIG).waitFor();
    const seen = await page.evaluate(() => window.progressSeen);
    assert.ok(seen.some((text) => /Uploading 1 file to Workspace/.test(text) && /of 6 MiB \(\d+%\)/.test(text)), `progress shown: ${JSON.stringify(seen.slice(0, 5))}`);
    await expectText(row(BIG).locator('td').nth(1), '6 MiB');

    await page.getByTestId('upload-files').setInputFiles({ name: 'too-big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(9 * MIB, 1) });
    await expectText(alert(), 'larger than the upload limit of 8 MiB; nothing was saved.');
    await button('Refresh').click();
    await page.waitForTimeout(500);
    await eventually(() => files().getAttribute('aria-busy'), (busy) => busy === 'false', { what: 'the refresh' });
    assert.equal(await row('too-big.bin').count(), 0);
  });

  stack.scenario('clicking a file downloads it, byte for byte and with its name', async () => {
    const chinese = await download(() => row(CHINESE).getByRole('link', { name: CHINESE }).click());
    assert.equal(chinese.name, CHINESE);
    assert.deepEqual(chinese.bytes, CHINESE_BYTES);
    const big = await download(() => row(BIG).getByRole('link', { name: BIG }).click());
    assert.equal(big.bytes.length, BIG_BYTES.length);
    assert.ok(big.bytes.equals(BIG_BYTES), 'the 6 MiB file came back unchanged');
  });

  stack.scenario('editing a text file saves it; a save over a version changed meanwhile is refused and I choose', async () => {
    await button(`Edit ${NOTES}`).click();
    const editor = page.getByTestId('file-editor');
    const text = page.getByLabel(`Content of ${NOTES}`);
    await text.waitFor();
    assert.equal(await text.inputValue(), NOTES_TEXT);
    await text.fill('# Notes\n\nsecond draft, from the browser\n');
    await expectText(editor, 'Unsaved changes.');
    await editor.getByRole('button', { name: 'Save' }).click();
    await expectText(editor, 'Saved.');
    assert.equal((await stored(NOTES)).toString('utf8'), '# Notes\n\nsecond draft, from the browser\n');

    // Someone else (the agent, another tab) writes the file while it is open here.
    const stat = await member.get(`/files/stat?path=${encodeURIComponent(NOTES)}`);
    const theirs = '# Notes\n\nwritten by the agent meanwhile\n';
    const put = await member.raw('PUT', `/files/content?path=${encodeURIComponent(NOTES)}`, {
      headers: { 'If-Match': stat.body.file.etag, 'Content-Type': 'text/plain; charset=utf-8' },
      body: theirs,
    });
    assert.equal(put.status, 200, await put.text());

    const mine = '# Notes\n\nmy stale edit\n';
    await text.fill(mine);
    await editor.getByRole('button', { name: 'Save' }).click();
    const conflict = page.getByTestId('editor-conflict');
    await expectText(conflict, 'This file was changed since you opened it');
    assert.equal((await stored(NOTES)).toString('utf8'), theirs, 'their version was not overwritten');
    await stack.shot(page, 'editor-conflict-en');

    // Keep editing: my text stays; saving again is refused again.
    await conflict.getByRole('button', { name: 'Keep editing' }).click();
    assert.equal(await conflict.count(), 0);
    assert.equal(await text.inputValue(), mine);
    await editor.getByRole('button', { name: 'Save' }).click();
    await conflict.waitFor();
    // Reload: their version, my edit gone; saving works again from there.
    await conflict.getByRole('button', { name: 'Reload (lose my edit)' }).click();
    await eventually(() => text.inputValue(), (value) => value === theirs, { what: 'the reloaded text' });
    assert.equal(await conflict.count(), 0);
    await text.fill(`${theirs}and a line of mine\n`);
    await editor.getByRole('button', { name: 'Save' }).click();
    await expectText(editor, 'Saved.');
    assert.equal((await stored(NOTES)).toString('utf8'), `${theirs}and a line of mine\n`);
    await editor.getByRole('button', { name: 'Close' }).click();
    await row(NOTES).waitFor();
  });

  stack.scenario('a new text file is created empty and opens in the editor', async () => {
    await button('New text file').click();
    await dialog().getByLabel('File name').fill('todo.txt');
    await dialog().getByRole('button', { name: 'Create' }).click();
    const text = page.getByLabel('Content of todo.txt');
    await text.waitFor();
    assert.equal(await text.inputValue(), '');
    await text.fill('buy milk\n');
    await page.getByTestId('file-editor').getByRole('button', { name: 'Save' }).click();
    await expectText(page.getByTestId('file-editor'), 'Saved.');
    await page.getByTestId('file-editor').getByRole('button', { name: 'Close' }).click();
    await row('todo.txt').waitFor();
    assert.equal((await stored('todo.txt')).toString('utf8'), 'buy milk\n');

    // The same name again is refused next to the field.
    await button('New text file').click();
    await dialog().getByLabel('File name').fill('todo.txt');
    await dialog().getByRole('button', { name: 'Create' }).click();
    await expectText(dialog(), 'Something with this name exists already.');
    await dialog().getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await stored('todo.txt')).toString('utf8'), 'buy milk\n');
  });

  stack.scenario('rename / move takes a file into another folder; copy makes a second one', async () => {
    await select(NOTES);
    await expectText(page.getByTestId('selection-bar'), 'Selected: 1');
    await button('Rename / move').click();
    const target = dialog().getByLabel('New name or path');
    assert.equal(await target.inputValue(), NOTES);
    await target.fill('reports/plan.md');
    await dialog().getByRole('button', { name: 'Move' }).click();
    await expectText(success(), 'Moved to reports/plan.md.');
    await eventually(() => row(NOTES).count(), (n) => n === 0, { what: 'notes.md gone from here' });
    await row('reports').getByRole('link', { name: 'reports' }).click();
    await row('plan.md').waitFor();
    assert.match((await stored('reports/plan.md')).toString('utf8'), /and a line of mine/);
    await crumbs().getByRole('link', { name: 'Workspace' }).click();
    await row(CHINESE).waitFor();

    await select(CHINESE);
    await button('Copy').click();
    const copyTarget = dialog().getByLabel('Name or path of the copy');
    assert.equal(await copyTarget.inputValue(), '项目 计划 🚀 (copy).txt');
    await dialog().getByRole('button', { name: 'Copy' }).click();
    await row('项目 计划 🚀 (copy).txt').waitFor();
    assert.deepEqual(await stored('项目 计划 🚀 (copy).txt'), CHINESE_BYTES);

    // Moving onto an existing name asks before replacing.
    await select('todo.txt');
    await button('Rename / move').click();
    await dialog().getByLabel('New name or path').fill('.hidden-settings');
    await dialog().getByRole('button', { name: 'Move' }).click();
    await expectText(dialog(), '".hidden-settings" already exists.');
    await dialog().getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await row('todo.txt').count(), 1);
    await button('Clear selection').click();
  });

  stack.scenario('uploading a file that exists asks "Replace 1 existing file?" and then replaces it', async () => {
    const newer = Buffer.from('第二版：replaced\n', 'utf8');
    await page.getByTestId('upload-files').setInputFiles([{ name: CHINESE, mimeType: 'text/plain', buffer: newer }]);
    await dialog().getByRole('heading', { name: 'Replace 1 existing file?' }).waitFor();
    await expectText(page.getByTestId('replace-list'), CHINESE);
    assert.deepEqual(await stored(CHINESE), CHINESE_BYTES, 'nothing replaced before I said so');
    await stack.shot(page, 'replace-dialog-en');
    await dialog().getByRole('button', { name: 'Replace' }).click();
    await expectText(success(), 'existing files replaced');
    assert.deepEqual(await stored(CHINESE), newer);
    await expectText(row(CHINESE).locator('td').nth(1), `${newer.length} B`);
  });

  stack.scenario('two selected items download as one valid zip', async () => {
    await select('album');
    await select(CHINESE);
    const zip = await download(() => page.getByRole('link', { name: 'Download as zip' }).click());
    assert.equal(zip.name, 'files.zip');
    const listing = execFileSync('python3', ['-m', 'zipfile', '-l', zip.path], { encoding: 'utf8' });
    for (const entry of ['album/a.txt', 'album/sub/b.bin', CHINESE]) assert.ok(listing.includes(entry), `${entry} in\n${listing}`);
    execFileSync('python3', ['-m', 'zipfile', '-t', zip.path]);
    const extracted = path.join(tmp, 'unzipped');
    execFileSync('python3', ['-m', 'zipfile', '-e', zip.path, extracted]);
    assert.deepEqual(readFileSync(path.join(extracted, CHINESE)), await stored(CHINESE));
    assert.deepEqual(readFileSync(path.join(extracted, 'album', 'sub', 'b.bin')), await stored('album/sub/b.bin'));
    await button('Clear selection').click();
  });

  stack.scenario('deleting asks first, names what goes and says folders go with their contents', async () => {
    await select('album');
    await select('项目 计划 🚀 (copy).txt');
    await button('Delete').click();
    await dialog().getByRole('heading', { name: 'Delete 2 items?' }).waitFor();
    const list = page.getByTestId('delete-list');
    await expectText(list, 'album');
    await expectText(list, '项目 计划 🚀 (copy).txt');
    await expectText(dialog(), 'Folders are deleted with everything in them.');
    await stack.shot(page, 'delete-dialog-en');
    await dialog().getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await row('album').count(), 1, 'cancel keeps them');

    await button('Delete').click();
    await dialog().getByRole('button', { name: 'Delete' }).click();
    await expectText(success(), 'Deleted: 2.');
    await eventually(names, (list) => !list.includes('album') && !list.includes('项目 计划 🚀 (copy).txt'), { what: 'both gone' });
    const gone = await member.get(`/files/stat?path=album`);
    assert.equal(gone.status, 404);
  });

  stack.scenario('a symlink leading out of the workspace is refused with the server\'s message', async () => {
    execFileSync('docker', ['exec', '-u', '1000', `${E2E_PREFIX}-rt-${MEMBER.username}`, 'ln', '-s', '/etc', '/home/node/.openclaw/workspace/outside']);
    await button('Refresh').click();
    await row('outside').waitFor();
    assert.equal(await row('outside').getAttribute('data-type'), 'symlink');
    await expectText(row('outside'), '→ /etc');
    await row('outside').getByRole('button', { name: 'outside' }).click();
    await expectText(alert(), '"outside" leads outside your workspace through a symlink.');

    // Typed into the address bar: the same words, and a way back.
    await page.goto('/#/files/outside');
    await expectText(alert(), 'leads outside your workspace');
    await page.getByRole('link', { name: 'Back to the workspace' }).click();
    await row(CHINESE).waitFor();
  });

  stack.scenario('the Files screen in English and in Chinese', async () => {
    await select(BIG);
    await stack.shot(page, 'files-en');
    await page.getByRole('button', { name: '中文' }).click();
    await expectText(crumbs(), '工作区');
    await page.getByRole('columnheader', { name: '名称' }).waitFor();
    await expectText(page.getByTestId('selection-bar'), '已选择 1 项');
    await page.getByRole('button', { name: '上传文件夹' }).waitFor();
    await stack.shot(page, 'files-zh');
    await page.getByRole('button', { name: 'English' }).click();
    await expectText(crumbs(), 'Workspace');
    await button('Clear selection').click();
    await page.setViewportSize(PHONE);
    await stack.shot(page, 'files-phone-en');
    await page.setViewportSize(DESKTOP);
  });

  stack.scenario(
    'after my runtime was stopped, Files starts it again behind the loading state',
    async () => {
      // The first visit's start goes on to the health check in the background; let it finish.
      await eventually(async () => (await member.get('/runtime')).body.runtime.state, (state) => state === 'running' || state === 'error', {
        timeoutMs: 240_000,
        what: 'the runtime to finish starting',
      });
      // Away from Files first: a listing is a files call, and it would start the runtime again at once.
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Home' }).click();
      await page.getByRole('heading', { name: `Hello, ${MEMBER.username}` }).waitFor();
      const stop = await member.post('/runtime/stop');
      assert.equal(stop.status, 200, JSON.stringify(stop.body));
      assert.equal(stop.body.runtime.state, 'stopped');
      await expectText(page.getByTestId('runtime-state'), 'Stopped');
      await page.goto('/#/files/reports');
      await expectText(page.getByTestId('files-loading'), 'Starting your runtime');
      await row('plan.md').waitFor({ timeout: FIRST_CALL_MS });
      assert.equal(await alert().count(), 0);
    },
    SLOW,
  );
});
