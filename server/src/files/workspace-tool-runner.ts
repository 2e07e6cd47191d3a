/**
 * Runs the workspace tool (workspace-tool.cjs) inside a user's runtime through the driver's exec,
 * as the runtime's own uid, and turns its answers into results or AppErrors.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { AppError } from '../errors/app-error';
import type { ExecProcess, RuntimeDriver } from '../runtimes/runtime-driver';
import { STATE_DIR, WORKSPACE_DIR } from '../runtimes/runtime-names';

/** Sent with every exec, so the tool always matches this control plane whatever image a runtime runs. */
const TOOL_SOURCE = fs.readFileSync(path.join(__dirname, 'workspace-tool.cjs'), 'utf8');
/** Uploads are staged here: the same volume as the workspace (so renames are atomic), but outside it. */
export const STAGING_DIR = `${STATE_DIR}/.crewclaw-staging`;
export const RUNTIME_UID = '1000';

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

/** The runtime went away mid-operation (stopped, restarted, crashed): nothing was committed. */
export function interrupted(cause: unknown): AppError {
  return new AppError(503, 'runtime_interrupted', 'Your runtime stopped while this was in progress, so nothing was changed. Try again.', {
    detail: cause instanceof Error ? cause.message : String(cause),
    headers: { 'Retry-After': '5' },
  });
}

/** Writes to a process's stdin, waiting when it is full; a runtime that went away is `interrupted`. */
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

  /** An operation answering JSON; `feed` writes its stdin (and must end it) when given. */
  async run<T>(username: string, op: string, args: string[], feed?: (stdin: Writable) => Promise<void>): Promise<T> {
    const process = await this.start(username, op, args, feed !== undefined);
    const output = readAll(process.stdout);
    try {
      if (feed) await feed(process.stdin!);
    } catch (error) {
      process.abort();
      await output.catch(() => '');
      throw error instanceof AppError ? error : interrupted(error);
    }
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

  /** A file's bytes from `start` to `end` inclusive (the tool checks the path first). */
  async read(username: string, relative: string, start: number, end: number | null): Promise<ExecProcess> {
    return this.start(username, 'read', [relative, String(start), end === null ? '' : String(end)], false);
  }
}

