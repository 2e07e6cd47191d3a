/**
 * A user's workspace, from the browser's point of view: list, read, zip, upload, edit, move, copy,
 * delete. Everything acts inside the runtime container through the driver: an exec of the workspace
 * tool as uid 1000, whose bulk bytes travel over its data channel (files/data-channel.ts). User
 * volumes are never mounted here.
 *
 * A stopped runtime is started first: listing, moving and writing need a process in the container,
 * and one rule for every call is easier to rely on than a list of exceptions. Only the container
 * process is waited for, not the gateway, so this takes a second or two, not a full start.
 */
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../errors/app-error';
import { COMMIT_FRAME, END_FILE_FRAME, beginFileFrame, dataFrames } from '../files/upload-frames';
import { WorkspaceToolRunner, writeTo } from '../files/workspace-tool-runner';
import { parseWorkspacePath, type WorkspacePath } from '../files/workspace-path';
import { zipFromTars, type PackAnswer } from '../files/zip-stream';
import type { RuntimeDriver } from '../runtimes/runtime-driver';
import type { AuditService } from './audit.service';
import type { RequestContext } from './request-context';
import type { RuntimeOwner, RuntimeService } from './runtime.service';

export interface FileEntry {
  name: string;
  type: 'file' | 'folder' | 'symlink' | 'other';
  size: number;
  modifiedAt: string;
  mode: string;
  linkTarget?: string | null;
}

export interface FileStat extends FileEntry {
  etag: string;
  realPath: string;
}

export interface FileDownload {
  stat: FileStat;
  body: Readable;
  /** Resolves when the bytes were all sent; rejects when the runtime could not deliver them. */
  done: Promise<void>;
  abort(): void;
}

export interface UploadedFile {
  path: string;
  size: number;
}

/** One multipart upload in progress: files are streamed in as they arrive, then committed together. */
export interface UploadSession {
  addFile(relativePath: string, content: Readable): Promise<number>;
  commit(): Promise<UploadedFile[]>;
  /** Drops everything sent so far; `reason` goes to the audit log. */
  abort(reason: string): void;
}

const byFolderThenName = (a: FileEntry, b: FileEntry) => {
  const folderFirst = Number(b.type === 'folder') - Number(a.type === 'folder');
  return folderFirst || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
};

const write = (channel: Writable, chunk: Buffer) => writeTo(channel, chunk);

export class FilesService {
  private readonly tool: WorkspaceToolRunner;

  constructor(
    private readonly driver: RuntimeDriver,
    private readonly runtimes: RuntimeService,
    private readonly audit: AuditService,
  ) {
    this.tool = new WorkspaceToolRunner(driver);
  }

  /** The runtime's container must run; an admin looking into someone else's files is audited, not counted as use. */
  private async ready(context: RequestContext, owner: RuntimeOwner, action: string, detail: Record<string, unknown>): Promise<void> {
    if (context.actor && context.actor.id !== owner.id) this.audit.record(context, 'files.admin_access', owner.username, 'success', { action, ...detail });
    // Working with one's files is using the runtime: the idle stop should not cut in.
    else this.runtimes.recordActivity(owner);
    await this.runtimes.ensureContainerRunning(context, owner);
  }

  /** A transfer streams for as long as it takes: the idle stop must not cut it off meanwhile. */
  private holdUntilClosed(owner: RuntimeOwner, body: Readable): void {
    const release = this.runtimes.holdForWork(owner);
    body.once('close', release);
  }

  async list(context: RequestContext, owner: RuntimeOwner, rawPath: unknown): Promise<{ path: string; entries: FileEntry[] }> {
    const path = parseWorkspacePath(rawPath);
    await this.ready(context, owner, 'list', { path: path.relative });
    const { entries } = await this.tool.run<{ entries: FileEntry[] }>(owner.username, 'list', [path.relative]);
    return { path: path.relative, entries: entries.sort(byFolderThenName) };
  }

  async stat(context: RequestContext, owner: RuntimeOwner, rawPath: unknown): Promise<FileStat> {
    const path = parseWorkspacePath(rawPath);
    await this.ready(context, owner, 'stat', { path: path.relative });
    return this.tool.run<FileStat>(owner.username, 'stat', [path.relative]);
  }

  /** A file's bytes, whole or the inclusive range chosen by `pickRange` once its size is known (it may throw to refuse). */
  async read(
    context: RequestContext,
    owner: RuntimeOwner,
    rawPath: unknown,
    pickRange: (stat: FileStat) => { start: number; end: number } | null,
  ): Promise<FileDownload & { range: { start: number; end: number } | null }> {
    const path = parseWorkspacePath(rawPath, 'path', { allowRoot: false });
    await this.ready(context, owner, 'read', { path: path.relative });
    const stat = await this.contentStat(owner, path);
    const range = pickRange(stat);
    // Exactly the bytes announced in Content-Length: a file that changed size since is an error, not a corrupt response.
    const output = await this.tool.openOutput<void>(owner.username, 'read', [stat.realPath, String(range?.start ?? 0), String(range ? range.end : stat.size - 1)]);
    this.holdUntilClosed(owner, output.body);
    return { stat, range, ...output };
  }

  /** What a read of the file would answer, from its metadata alone: no byte of it is read (HEAD). */
  async describeContent(context: RequestContext, owner: RuntimeOwner, rawPath: unknown): Promise<FileStat> {
    const path = parseWorkspacePath(rawPath, 'path', { allowRoot: false });
    await this.ready(context, owner, 'read', { path: path.relative });
    return this.contentStat(owner, path);
  }

  /** A file that has content to read: not a folder, nor a named pipe, socket or device. */
  private async contentStat(owner: RuntimeOwner, path: WorkspacePath): Promise<FileStat> {
    const stat = await this.tool.run<FileStat>(owner.username, 'stat', [path.relative]);
    if (stat.type === 'folder') throw new AppError(400, 'is_a_folder', `"${path.relative}" is a folder; download it as a zip instead.`);
    if (stat.type !== 'file') throw new AppError(400, 'invalid', `"${path.relative}" is not a regular file (a named pipe, socket or device), so it has no content to download.`);
    return stat;
  }

  /** A zip of the chosen files and folders, streamed as it is made. */
  async archive(context: RequestContext, owner: RuntimeOwner, rawPaths: unknown[]): Promise<{ name: string; body: Readable }> {
    if (rawPaths.length === 0) throw new AppError(400, 'validation_failed', 'Choose at least one file or folder.', { fields: [{ field: 'path', message: 'is required' }] });
    const paths = rawPaths.map((raw) => parseWorkspacePath(raw));
    await this.ready(context, owner, 'archive', { paths: paths.map((path) => path.relative) });
    // Resolve every path first (symlinks checked), so a bad one is a clean 4xx, not a broken zip.
    const stats = await Promise.all(paths.map((path) => this.tool.run<FileStat>(owner.username, 'stat', [path.relative])));
    const single = stats.length === 1 ? stats[0]! : null;
    const name = single ? `${single.realPath === '' ? 'workspace' : single.name}.zip` : 'files.zip';
    const body = zipFromTars(
      stats.map((stat) => async () => {
        const { body: tar, done } = await this.tool.openOutput<PackAnswer>(owner.username, 'pack', [stat.realPath]);
        return { body: tar, done };
      }),
    );
    this.holdUntilClosed(owner, body);
    return { name, body };
  }

  /**
   * Starts an upload into folder `rawDir`. Nothing is visible until commit(); abort() (or the
   * request going away) leaves the workspace as it was.
   */
  async startUpload(context: RequestContext, owner: RuntimeOwner, rawDir: unknown, replace: boolean): Promise<UploadSession> {
    const dir = parseWorkspacePath(rawDir);
    await this.ready(context, owner, 'upload', { path: dir.relative });
    let channelReady!: (channel: Writable) => void;
    let finished!: () => void;
    const channelPromise = new Promise<Writable>((resolve) => (channelReady = resolve));
    const allSent = new Promise<void>((resolve) => (finished = resolve));
    const release = this.runtimes.holdForWork(owner);
    const result = this.tool.runWithInput<{ files: UploadedFile[] }>(owner.username, 'upload', [dir.relative, replace ? 'replace' : 'keep'], async (channel) => {
      channelReady(channel);
      await allSent;
    });
    // However the upload ends (committed, refused, cut off), the tool answers, and the hold goes.
    result.then(release, release);
    // The tool may fail before anything is sent (a bad folder): surface that on the next call.
    let early: Error | null = null;
    result.catch((error: unknown) => (early = error instanceof Error ? error : new Error(String(error))));
    const channel = await Promise.race([channelPromise, result.then(() => null, () => null)]);
    if (!channel) throw early ?? new AppError(500, 'files_failed', 'The upload could not begin.');
    let aborted = false;
    // A tool that gave up (it exits at once on a bad folder) stops reading: never wait on it forever.
    const toolEnded = result.then(
      () => Promise.reject(new AppError(500, 'files_failed', 'The upload stopped inside your runtime.')),
      (error: unknown) => Promise.reject(error instanceof Error ? error : new Error(String(error))),
    );
    toolEnded.catch(() => undefined);
    const send = async (chunk: Buffer) => {
      if (early) throw early;
      await writeTo(channel, chunk, toolEnded);
    };
    // Files go through the one channel strictly one after another: multer may hand over the next
    // part before the previous one's end frame is written.
    let queue: Promise<unknown> = Promise.resolve();
    const addFile = async (relativePath: string, content: Readable): Promise<number> => {
      if (early) throw early;
      const path = parseWorkspacePath(relativePath, 'file', { allowRoot: false });
      await send(beginFileFrame(path.relative));
      let size = 0;
      for await (const chunk of content) {
        if (aborted) throw new AppError(400, 'upload_incomplete', 'The upload was cancelled.');
        size += (chunk as Buffer).length;
        for (const frame of dataFrames(chunk as Buffer)) await send(frame);
      }
      await send(END_FILE_FRAME);
      return size;
    };
    return {
      addFile: (relativePath, content) => {
        const added = queue.then(() => addFile(relativePath, content));
        queue = added.catch(() => undefined);
        return added;
      },
      commit: async () => {
        await send(COMMIT_FRAME);
        channel.end();
        finished();
        try {
          const { files } = await result;
          this.audit.record(context, 'files.upload', owner.username, 'success', { path: dir.relative, files: files.length, bytes: files.reduce((sum, file) => sum + file.size, 0) });
          return files;
        } catch (error) {
          this.audit.record(context, 'files.upload', owner.username, 'failure', { path: dir.relative, reason: error instanceof Error ? error.message : String(error) });
          throw error;
        }
      },
      abort: (reason) => {
        if (aborted) return;
        aborted = true;
        this.audit.record(context, 'files.upload', owner.username, 'failure', { path: dir.relative, reason });
        // Ending the input without the commit frame makes the tool drop everything it staged.
        channel.end();
        finished();
        result.catch(() => undefined);
      },
    };
  }

  /**
   * One file sent as the plain request body (no multipart): the fast path for a single big file,
   * which a browser can send as it is. `size` is the announced length; a body that ends short is
   * dropped inside the runtime, so nothing half-written ever shows.
   */
  async uploadRaw(context: RequestContext, owner: RuntimeOwner, rawDir: unknown, rawName: unknown, size: number, replace: boolean, content: Readable): Promise<UploadedFile[]> {
    const dir = parseWorkspacePath(rawDir);
    const name = parseWorkspacePath(rawName, 'name', { allowRoot: false });
    const target = [...dir.segments, ...name.segments].join('/');
    await this.ready(context, owner, 'upload', { path: target });
    const release = this.runtimes.holdForWork(owner);
    try {
      const { files } = await this.tool.runWithInput<{ files: UploadedFile[] }>(owner.username, 'receive', [target, String(size), replace ? 'replace' : 'keep'], async (channel) => {
        // The tool's answer is what counts: a body cut short arrives short, and the tool drops it.
        await pipeline(content, channel).catch(() => undefined);
      });
      this.audit.record(context, 'files.upload', owner.username, 'success', { path: dir.relative, files: 1, bytes: size });
      return files;
    } catch (error) {
      this.audit.record(context, 'files.upload', owner.username, 'failure', { path: dir.relative, reason: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      release();
    }
  }

  /** Saves a text edit; `ifMatch` is the ETag the editor loaded, or '*' only to create a new file. */
  async save(context: RequestContext, owner: RuntimeOwner, rawPath: unknown, precondition: { ifMatch?: string; ifNoneMatch?: string }, content: Readable): Promise<FileStat> {
    const path = parseWorkspacePath(rawPath, 'path', { allowRoot: false });
    if (!precondition.ifMatch && precondition.ifNoneMatch !== '*') {
      throw new AppError(428, 'precondition_required', 'Send If-Match with the ETag you loaded (or If-None-Match: * to create a new file), so edits never overwrite each other silently.');
    }
    await this.ready(context, owner, 'save', { path: path.relative });
    let result: FileStat;
    if (precondition.ifNoneMatch === '*') {
      const [uploaded] = await this.uploadOne(owner, path, content).catch((error: unknown) => {
        throw error instanceof AppError && error.code === 'exists' ? new AppError(412, 'precondition_failed', `"${path.relative}" already exists.`) : error;
      });
      result = await this.tool.run<FileStat>(owner.username, 'stat', [uploaded!.path]);
    } else {
      result = await this.tool.runWithInput<FileStat>(owner.username, 'save', [path.relative, precondition.ifMatch!], async (channel) => {
        for await (const chunk of content) for (const frame of dataFrames(chunk as Buffer)) await write(channel, frame);
        await write(channel, COMMIT_FRAME);
        channel.end();
      });
    }
    this.audit.record(context, 'files.save', owner.username, 'success', { path: path.relative });
    return result;
  }

  private async uploadOne(owner: RuntimeOwner, path: WorkspacePath, content: Readable): Promise<UploadedFile[]> {
    const dir = path.segments.slice(0, -1).join('/');
    const name = path.segments.at(-1)!;
    const { files } = await this.tool.runWithInput<{ files: UploadedFile[] }>(owner.username, 'upload', [dir, 'keep'], async (channel) => {
      await write(channel, beginFileFrame(name));
      for await (const chunk of content) for (const frame of dataFrames(chunk as Buffer)) await write(channel, frame);
      await write(channel, END_FILE_FRAME);
      await write(channel, COMMIT_FRAME);
      channel.end();
    });
    return files;
  }

  async mkdir(context: RequestContext, owner: RuntimeOwner, rawPath: unknown): Promise<FileStat> {
    const path = parseWorkspacePath(rawPath, 'path', { allowRoot: false });
    await this.ready(context, owner, 'mkdir', { path: path.relative });
    const stat = await this.tool.run<FileStat>(owner.username, 'mkdir', [path.relative]);
    this.audit.record(context, 'files.mkdir', owner.username, 'success', { path: path.relative });
    return stat;
  }

  async transfer(context: RequestContext, owner: RuntimeOwner, kind: 'move' | 'copy', rawFrom: unknown, rawTo: unknown, replace: boolean): Promise<FileStat> {
    const from = parseWorkspacePath(rawFrom, 'from', { allowRoot: false });
    const to = parseWorkspacePath(rawTo, 'to', { allowRoot: false });
    await this.ready(context, owner, kind, { from: from.relative, to: to.relative });
    try {
      const stat = await this.tool.run<FileStat>(owner.username, kind, [from.relative, to.relative, replace ? 'replace' : 'keep']);
      this.audit.record(context, `files.${kind}`, owner.username, 'success', { from: from.relative, to: to.relative, replace });
      return stat;
    } catch (error) {
      this.audit.record(context, `files.${kind}`, owner.username, 'failure', { from: from.relative, to: to.relative, reason: error instanceof Error ? error.message : String(error) });
      throw error;
    }
  }

  async remove(context: RequestContext, owner: RuntimeOwner, rawPath: unknown): Promise<void> {
    const path = parseWorkspacePath(rawPath, 'path', { allowRoot: false });
    await this.ready(context, owner, 'delete', { path: path.relative });
    await this.tool.run(owner.username, 'delete', [path.relative]);
    this.audit.record(context, 'files.delete', owner.username, 'success', { path: path.relative });
  }
}
