/**
 * Runs the workspace tool (workspace-tool.cjs) inside a user's runtime through the driver's exec,
 * as the runtime's own uid, and turns its answers into results or AppErrors.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { AppError } from '../errors/app-error';
import { channelToken, connectChannel } from './data-channel';
import type { ExecProcess, RuntimeDriver } from '../runtimes/runtime-driver';
import { STATE_DIR, WORKSPACE_DIR } from '../runtimes/runtime-names';

/** Sent with every exec, so the tool always matches this control plane whatever image a runtime runs. */
const TOOL_SOURCE = fs.readFileSync(path.join(__dirname, 'workspace-tool.cjs'), 'utf8');
/** Uploads are staged here: the same volume as the workspace (so renames are atomic), but outside it. */
export const STAGING_DIR = `${STATE_DIR}/.crewclaw-staging`;
export const RUNTIME_UID = '1000';
/** Node starting inside a busy container takes a second at worst; this is for one that is wedged. */
const ANNOUNCE_TIMEOUT_MS = 30_000;

interface ToolFailure {
  code: string;
  message: string;
  paths?: string[];
}

const STATUS_BY_CODE: Record<string, number> = {
  not_found: 404,
  outside: 400,
  symlink: 400,
  invalid: 400,
  is_a_folder: 400,
  not_a_folder: 400,
  incomplete: 400,
  exists: 409,
  changed: 412,
  // The user's own files are in the way: a link that loops, permissions they set, a full disk.
  symlink_loop: 400,
  permission_denied: 403,
  no_space: 507,
};

const CODE_NAMES: Record<string, string> = { outside: 'outside_workspace', incomplete: 'upload_incomplete', changed: 'precondition_failed' };

export function toolError(failure: ToolFailure): AppError {
  if (failure.code === 'not_found') return new AppError(404, 'not_found', failure.message);
  const status = STATUS_BY_CODE[failure.code];
  if (!status) return new AppError(500, 'files_failed', 'The file operation failed inside your runtime.', { detail: failure.message });
  const fields = failure.paths?.map((field) => ({ field, message: failure.code === 'exists' ? 'already exists' : failure.message }));
  return new AppError(status, CODE_NAMES[failure.code] ?? failure.code, failure.message, { fields });
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The tool's stdout: with a data channel, a first line announcing its port, then the answer.
 * `first` is that line, or the whole output when the tool answered (failed) before opening one.
 */
function splitAnnouncement(stdout: Readable): { first: Promise<string>; rest: Promise<string> } {
  const lines = createInterface({ input: stdout, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const first = lines.next().then((line) => (line.done ? '' : line.value), () => '');
  const rest = first.then(async () => {
    const remaining: string[] = [];
    for (let line = await lines.next(); !line.done; line = await lines.next()) remaining.push(line.value);
    return remaining.join('\n');
  });
  // Read only when a transfer got under way; a stdout that failed must not go unobserved otherwise.
  rest.catch(() => undefined);
  return { first, rest };
}

/** The runtime went away mid-operation (stopped, restarted, crashed): nothing was committed. */
export function interrupted(cause: unknown): AppError {
  return new AppError(503, 'runtime_interrupted', 'Your runtime stopped while this was in progress, so nothing was changed. Try again.', {
    detail: cause instanceof Error ? cause.message : String(cause),
    headers: { 'Retry-After': '5' },
  });
}

/** Writes to a data channel (or a stdin), waiting when it is full; a runtime that went away is `interrupted`. */
export async function writeTo(stdin: Writable, chunk: Buffer, giveUp?: Promise<never>): Promise<void> {
  if (stdin.destroyed || stdin.writableEnded) throw interrupted(new Error('stdin closed'));
  let accepted: boolean;
  try {
    accepted = stdin.write(chunk);
  } catch (error) {
    throw interrupted(error);
  }
  if (accepted) return;
  try {
    await (giveUp ? Promise.race([once(stdin, 'drain'), giveUp]) : once(stdin, 'drain'));
  } catch (error) {
    throw error instanceof AppError ? error : interrupted(error);
  }
}

/** A transfer in progress: the exec, its data channel and the answer still to come. */
interface ChannelSession {
  process: ExecProcess;
  channel: Socket;
  /** The tool's answer once the transfer is over: the parsed result, or a thrown AppError. */
  answer: <T>() => Promise<T>;
}

export class WorkspaceToolRunner {
  constructor(private readonly driver: RuntimeDriver) {}

  private async start(username: string, op: string, args: string[], stdin: boolean): Promise<ExecProcess> {
    try {
      return await this.driver.exec(username, ['node', '-e', TOOL_SOURCE, WORKSPACE_DIR, STAGING_DIR, op, ...args], { user: RUNTIME_UID, stdin });
    } catch (error) {
      // 409: the container stopped between our check and the exec (a stop or restart got in first).
      if ((error as { statusCode?: number }).statusCode === 409) throw interrupted(error);
      throw error;
    }
  }

  /** The tool's JSON answer, given its output and how it exited. */
  private async parse<T>(output: Promise<string>, process: ExecProcess): Promise<T> {
    let text: string;
    let exit: { code: number; stderr: string };
    try {
      [text, exit] = await Promise.all([output, process.exit]);
    } catch (error) {
      throw interrupted(error);
    }
    let parsed: { error?: ToolFailure } & T;
    try {
      parsed = JSON.parse(text) as { error?: ToolFailure } & T;
    } catch {
      // Killed (the runtime stopped or restarted) before it could answer, or never run because the
      // container had just stopped (Docker answers 126 "cannot exec in a stopped state").
      if (exit.code === -1 || exit.code >= 128 || (exit.code === 126 && /stopped state|not running/i.test(exit.stderr))) {
        throw interrupted(new Error(`exit ${exit.code}: ${exit.stderr}`));
      }
      throw new AppError(500, 'files_failed', 'The file operation failed inside your runtime.', { detail: `exit ${exit.code}: ${exit.stderr || text}`.slice(0, 2000) });
    }
    if (parsed.error) throw toolError(parsed.error);
    return parsed;
  }

  /** An operation answering JSON, with no bytes to move (list, stat, mkdir, move, copy, delete). */
  async run<T>(username: string, op: string, args: string[]): Promise<T> {
    const process = await this.start(username, op, args, false);
    return this.parse<T>(readAll(process.stdout), process);
  }

  /**
   * Starts an operation that moves bytes and connects its data channel. The tool checks what it can
   * before it opens the channel, so a refusal (a clash, a bad path) arrives here as an AppError and
   * no byte is sent for nothing.
   */
  private async openSession(username: string, op: string, args: string[]): Promise<ChannelSession> {
    const process = await this.start(username, op, args, true);
    const { first, rest } = splitAnnouncement(process.stdout);
    const token = channelToken();
    try {
      await writeTo(process.stdin!, Buffer.from(`${token.toString('hex')}\n`));
      process.stdin!.end();
    } catch {
      // it exited already: its answer says why
    }
    // A tool that never announces (a wedged runtime) must not hold the request forever.
    const line = await Promise.race([first, delay(ANNOUNCE_TIMEOUT_MS, null, { ref: false })]);
    if (line === null) {
      process.abort();
      throw interrupted(new Error(`the workspace tool did not answer within ${ANNOUNCE_TIMEOUT_MS / 1000} s`));
    }
    let port: number | undefined;
    try {
      port = (JSON.parse(line) as { channel?: number }).channel;
    } catch {
      // not an announcement: the answer, parsed below
    }
    if (typeof port !== 'number') return this.parse(Promise.resolve(line), process).then(() => Promise.reject(new AppError(500, 'files_failed', 'The tool answered without moving any bytes.')));
    const container = await this.driver.find(username);
    if (!container?.address) {
      process.abort();
      throw interrupted(new Error('the runtime has no address: it stopped'));
    }
    let channel: Socket;
    try {
      channel = await connectChannel(container.address.host, port, token);
    } catch (error) {
      // The tool still waiting means the network, not the runtime, is at fault (a control plane
      // outside the user's network, a firewall): say so rather than blame the runtime.
      const exited = await Promise.race([process.exit.then(() => true, () => true), delay(500, false, { ref: false })]);
      process.abort();
      if (exited) throw interrupted(error);
      throw new AppError(503, 'runtime_unreachable', "The platform could not reach your runtime over its network, so nothing was changed. Try again; if it keeps happening, ask an admin to restart your runtime.", {
        detail: error instanceof Error ? error.message : String(error),
        headers: { 'Retry-After': '5' },
      });
    }
    return { process, channel, answer: <T>() => this.parse<T>(rest, process) };
  }

  /**
   * An operation reading bytes (upload, receive, save): `send` writes them to the channel and ends
   * it. When sending fails, the tool's own answer wins if it has one (it refused or ran out of
   * space), else the runtime went away.
   */
  async runWithInput<T>(username: string, op: string, args: string[], send: (channel: Writable) => Promise<void>): Promise<T> {
    const { process, channel, answer } = await this.openSession(username, op, args);
    const answered = answer<T>();
    answered.catch(() => undefined);
    // A tool that gave up stops reading: never wait on a full channel forever.
    const gaveUp = answered.then(
      () => Promise.reject(new AppError(500, 'files_failed', 'The tool stopped reading before the transfer ended.')),
      (error: unknown) => Promise.reject(error instanceof Error ? error : new Error(String(error))),
    );
    gaveUp.catch(() => undefined);
    try {
      await Promise.race([send(channel), gaveUp]);
    } catch (error) {
      // Closing without the end of the stream makes the tool drop everything it staged.
      channel.destroy();
      const toolSaid = await Promise.race([answered.then(() => null, (reason: unknown) => reason), delay(10_000, null, { ref: false })]);
      process.abort();
      // The tool's own reason (it refused halfway, or ran out of space) beats our view of a broken pipe.
      if (toolSaid instanceof AppError && toolSaid.code !== 'runtime_interrupted') throw toolSaid;
      if (error instanceof AppError) throw error;
      throw interrupted(error);
    }
    return answered;
  }

  /**
   * An operation writing bytes (read, pack). The stream ends only once the tool said all went well,
   * so a failure halfway shows as an error, never as a stream that merely ended early; `done`
   * resolves with the tool's answer.
   */
  async openOutput<T = unknown>(username: string, op: string, args: string[]): Promise<{ body: Readable; done: Promise<T>; abort: () => void }> {
    const { process, channel, answer } = await this.openSession(username, op, args);
    const body = new PassThrough({ highWaterMark: 256 * 1024 });
    const done = new Promise<T>((resolve, reject) => {
      let ended = false;
      channel.once('error', (error) => reject(interrupted(error)));
      channel.once('end', () => {
        ended = true;
        answer<T>().then(resolve, reject);
      });
      // Closed without an end or an error: aborted here, so this transfer will never complete.
      channel.once('close', () => {
        if (!ended) reject(interrupted(new Error('the data channel was closed')));
      });
    });
    done.then(
      () => body.end(),
      (error: unknown) => {
        channel.destroy();
        body.destroy(error instanceof Error ? error : new Error(String(error)));
      },
    );
    channel.pipe(body, { end: false });
    const abort = () => {
      channel.destroy();
      process.abort();
      body.destroy();
    };
    // Whoever gives up on the bytes (a client gone, a zip destroyed) stops the tool too.
    body.once('close', () => {
      if (!body.readableEnded) abort();
    });
    return { body, done, abort };
  }
}
