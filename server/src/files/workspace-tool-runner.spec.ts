/**
 * The runner's side of the data channel, against the real workspace tool run on this host: the
 * driver here only stands in for `docker exec` (a local process) and for the runtime's address.
 * The Docker tests run the same through real containers.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../errors/app-error';
import type { ExecProcess, RuntimeContainer, RuntimeDriver } from '../runtimes/runtime-driver';
import { WorkspaceToolRunner, toolError } from './workspace-tool-runner';

/** Runs what the runner asks for on this host, with the workspace and staging paths moved to `home`. */
function localDriver(home: string, address: { host: string }, started: ExecProcess[] = []): RuntimeDriver {
  const exec = (_username: string, command: string[]): Promise<ExecProcess> => {
    const [, , source, , , ...rest] = command;
    const child = spawn(process.execPath, ['-e', source!, path.join(home, 'workspace'), path.join(home, 'staging'), ...rest]);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.stdin.on('error', () => undefined);
    const exit = new Promise<{ code: number; stderr: string }>((resolve) => child.once('close', (code) => resolve({ code: code ?? -1, stderr })));
    const running: ExecProcess = { stdin: child.stdin, stdout: child.stdout, exit, abort: () => child.kill('SIGKILL') };
    started.push(running);
    return Promise.resolve(running);
  };
  const find = (username: string): Promise<RuntimeContainer> =>
    Promise.resolve({ username, address: { host: address.host, port: 18789 } } as RuntimeContainer);
  return { exec, find } as unknown as RuntimeDriver;
}

describe('the workspace tool runner', () => {
  let home: string;

  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'crewclaw-runner-'));
    fs.mkdirSync(path.join(home, 'workspace'));
  });
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  it('sends bytes in and reads them back over the data channel', async () => {
    const runner = new WorkspaceToolRunner(localDriver(home, { host: '127.0.0.1' }));
    const content = Buffer.alloc(3 * 1024 * 1024 + 11, 'crewclaw');
    const answer = await runner.runWithInput<{ files: unknown[] }>('ann', 'receive', ['in/a.bin', String(content.length), 'keep'], (channel) => pipeline(Readable.from([content]), channel));
    expect(answer.files).toEqual([{ path: 'in/a.bin', size: content.length }]);
    const { body, done } = await runner.openOutput('ann', 'read', ['in/a.bin', '0', '']);
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    await done;
    expect(Buffer.concat(chunks).equals(content)).toBe(true);
  });

  it('answers the tool refusal before any byte is sent', async () => {
    fs.writeFileSync(path.join(home, 'workspace/taken.txt'), 'x');
    const runner = new WorkspaceToolRunner(localDriver(home, { host: '127.0.0.1' }));
    const send = jest.fn(() => Promise.resolve());
    await expect(runner.runWithInput('ann', 'receive', ['taken.txt', '1', 'keep'], send)).rejects.toMatchObject({ status: 409, code: 'exists' });
    expect(send).not.toHaveBeenCalled();
  });

  it('answers what the user\'s own files cause with a 4xx naming the problem, not a 500', async () => {
    fs.symlinkSync('loop-b', path.join(home, 'workspace/loop-a'));
    fs.symlinkSync('loop-a', path.join(home, 'workspace/loop-b'));
    const runner = new WorkspaceToolRunner(localDriver(home, { host: '127.0.0.1' }));
    await expect(runner.run('ann', 'stat', ['loop-a'])).rejects.toMatchObject({ status: 400, code: 'symlink_loop', message: expect.stringContaining('"loop-a" goes through a symlink loop') });
    // The statuses of the other such codes the tool answers with (a permission it lacks, a full disk).
    for (const [errno, status, code] of [['EACCES', 403, 'permission_denied'], ['ENOSPC', 507, 'no_space'], ['ELOOP', 400, 'symlink_loop']] as const) {
      expect(toolError({ code, message: errno })).toMatchObject({ status, code });
    }
  });

  it('says the runtime is unreachable, not stopped, when its channel cannot be reached', async () => {
    // TEST-NET-1: no host answers there, as when the control plane sits outside the user's network.
    const runner = new WorkspaceToolRunner(localDriver(home, { host: '192.0.2.1' }));
    const failure = await runner.runWithInput('ann', 'receive', ['a.bin', '1', 'keep'], () => Promise.resolve()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AppError);
    expect(failure).toMatchObject({ status: 503, code: 'runtime_unreachable' });
    expect(fs.readdirSync(path.join(home, 'workspace'))).toEqual([]);
  }, 15_000);

  it('is a clean runtime_interrupted when the tool dies halfway, and nothing lands', async () => {
    const started: ExecProcess[] = [];
    const runner = new WorkspaceToolRunner(localDriver(home, { host: '127.0.0.1' }, started));
    const failure = await runner
      .runWithInput('ann', 'receive', ['big.bin', String(64 * 1024 * 1024), 'keep'], async (channel) => {
        channel.write(Buffer.alloc(1024 * 1024));
        started[0]!.abort(); // the container stopped
        await pipeline(Readable.from([Buffer.alloc(63 * 1024 * 1024)]), channel);
      })
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({ status: 503, code: 'runtime_interrupted' });
    expect(fs.readdirSync(path.join(home, 'workspace'))).toEqual([]);
  });

  it('fails the output stream, rather than ending it short, when the tool dies after sending some', async () => {
    fs.writeFileSync(path.join(home, 'workspace/big.bin'), Buffer.alloc(32 * 1024 * 1024, 1));
    const started: ExecProcess[] = [];
    const runner = new WorkspaceToolRunner(localDriver(home, { host: '127.0.0.1' }, started));
    const { body, done } = await runner.openOutput('ann', 'read', ['big.bin', '0', '']);
    done.catch(() => undefined);
    let received = 0;
    const reading = (async () => {
      for await (const chunk of body) {
        received += (chunk as Buffer).length;
        if (received >= 1024 * 1024) started[0]!.abort();
      }
    })();
    await expect(reading).rejects.toMatchObject({ status: 503, code: 'runtime_interrupted' });
    expect(received).toBeLessThan(32 * 1024 * 1024);
  });

  it('stops the tool when the reader gives up, so nothing waits forever', async () => {
    fs.mkdirSync(path.join(home, 'workspace/big'));
    fs.writeFileSync(path.join(home, 'workspace/big/a.bin'), Buffer.alloc(48 * 1024 * 1024, 2));
    const started: ExecProcess[] = [];
    const runner = new WorkspaceToolRunner(localDriver(home, { host: '127.0.0.1' }, started));
    const { body, done } = await runner.openOutput('ann', 'pack', ['big']);
    done.catch(() => undefined);
    await new Promise((resolve) => body.once('data', resolve));
    body.destroy(); // a zip download the browser cancelled
    const exit = await Promise.race([started[0]!.exit, new Promise((resolve) => setTimeout(() => resolve('still running'), 5000))]);
    expect(exit).not.toBe('still running');
  });

  it('abort() ends everything: the stream closes and the transfer settles, so nothing is held', async () => {
    fs.writeFileSync(path.join(home, 'workspace/some.bin'), Buffer.alloc(8 * 1024 * 1024, 3));
    const started: ExecProcess[] = [];
    const runner = new WorkspaceToolRunner(localDriver(home, { host: '127.0.0.1' }, started));
    // As the content route does for a 416: the headers are decided, the bytes are not wanted.
    const { body, done, abort } = await runner.openOutput('ann', 'read', ['some.bin', '0', '']);
    const closed = new Promise((resolve) => body.once('close', resolve));
    abort();
    await closed;
    await expect(done).rejects.toMatchObject({ code: 'runtime_interrupted' });
    await started[0]!.exit;
  });
});
