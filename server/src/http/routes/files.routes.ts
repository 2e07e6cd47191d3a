import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { create as contentDisposition } from 'content-disposition';
import express, { Router, type Request, type Response } from 'express';
import { contentType } from 'mime-types';
import multer from 'multer';
import { z } from 'zod';
import { contextOf } from '../../auth/request-context';
import { AppError } from '../../errors/app-error';
import { NO_METRICS, type FileTransferObserver } from '../../metrics/observers';
import type { FilesService, FileStat } from '../../services/files.service';
import type { RuntimeOwner } from '../../services/runtime.service';
import { parseInput } from '../../services/validate';
import { fromMulterError, runtimeUpload, uploadSessionOf } from '../upload-storage';

const flag = z.enum(['true', 'false', '1', '0']).default('false').transform((value) => value === 'true' || value === '1');
const pathQuery = z.object({ path: z.string({ error: 'must be given once' }).default('') });
const contentQuery = z.object({ path: z.string({ error: 'must be given once' }), inline: flag });
const uploadQuery = z.object({ path: z.string({ error: 'must be given once' }).default(''), replace: flag });
const rawUploadQuery = uploadQuery.extend({ name: z.string({ error: 'name the file: ?name=' }) });
const transferBody = z.strictObject({ from: z.string(), to: z.string(), replace: z.boolean().default(false) });
const mkdirBody = z.strictObject({ path: z.string() });

/** Sets the ETag and returns what clients see of a file (its resolved path stays inside). */
function sendStat(res: Response, stat: FileStat): Omit<FileStat, 'realPath'> {
  res.setHeader('ETag', stat.etag);
  return { name: stat.name, type: stat.type, size: stat.size, modifiedAt: stat.modifiedAt, mode: stat.mode, etag: stat.etag, ...(stat.linkTarget !== undefined && { linkTarget: stat.linkTarget }) };
}

/** Counts the bytes passing through it (for the file bytes metric), as they go out. */
function byteCounter(count: (bytes: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      count(chunk.length);
      callback(null, chunk);
    },
  });
}

/** Sends a stream, or cuts the connection when the source fails after the headers went out. */
async function stream(res: Response, body: Readable, done: Promise<void>, abort: () => void, sent: (bytes: number) => void): Promise<void> {
  res.once('close', () => {
    if (!res.writableFinished) abort();
  });
  try {
    await Promise.all([pipeline(body, byteCounter(sent), res), done]);
  } catch {
    res.destroy();
  }
}

/** The files API over one workspace: the caller's own, or for admins anyone's. */
export function filesRoutes(
  files: FilesService,
  ownerOf: (req: Request) => RuntimeOwner,
  limits: { maxUploadBytes: number; maxTextEditBytes: number },
  observer: FileTransferObserver = NO_METRICS,
): Router {
  const router = Router({ mergeParams: true });
  const sent = (bytes: number) => observer.fileBytes('out', bytes);
  const received = (uploaded: { size: number }[]) => observer.fileBytes('in', uploaded.reduce((sum, file) => sum + file.size, 0));
  const upload = runtimeUpload((req) => {
    const { path, replace } = parseInput(uploadQuery, { ...req.query });
    return files.startUpload(contextOf(req), ownerOf(req), path, replace);
  }, limits.maxUploadBytes);

  router.get('/', async (req, res) => {
    const { path } = parseInput(pathQuery, { ...req.query });
    res.json(await files.list(contextOf(req), ownerOf(req), path));
  });

  router.get('/stat', async (req, res) => {
    const { path } = parseInput(pathQuery, { ...req.query });
    res.json({ file: sendStat(res, await files.stat(contextOf(req), ownerOf(req), path)) });
  });

  /** The byte range a request asks of a file of `size` bytes: one range, or the whole file (null). */
  const rangeOf = (req: Request, stat: FileStat): { start: number; end: number } | null => {
    const ranges = req.range(stat.size, { combine: true });
    if (ranges === -1) {
      throw new AppError(416, 'range_not_satisfiable', `The file is ${stat.size} bytes long.`, { headers: { 'Content-Range': `bytes */${stat.size}` } });
    }
    // One range is what download managers and media players ask for; several get the whole file.
    if (ranges === undefined || ranges === -2 || ranges.length !== 1 || ranges.type !== 'bytes') return null;
    return { start: ranges[0]!.start, end: ranges[0]!.end };
  };

  /** The headers GET and HEAD on a file's content share. */
  const contentHeaders = (res: Response, stat: FileStat, range: { start: number; end: number } | null, inline: boolean) => {
    res.setHeader('Accept-Ranges', 'bytes');
    // The agent changes files at any time: a browser may keep a copy, but must ask before using it.
    res.setHeader('Cache-Control', 'private, no-cache');
    res.setHeader('ETag', stat.etag);
    res.setHeader('Last-Modified', new Date(stat.modifiedAt).toUTCString());
    res.setHeader('Content-Type', contentType(stat.name) || 'application/octet-stream');
    res.setHeader('Content-Disposition', contentDisposition(stat.name, { type: inline ? 'inline' : 'attachment' }));
    // Shown inline, a user's HTML must not run as the platform: no scripts, an origin of its own.
    if (inline) res.setHeader('Content-Security-Policy', "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; media-src 'self'");
    if (range) {
      res.status(206);
      res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${stat.size}`);
      res.setHeader('Content-Length', String(range.end - range.start + 1));
    } else {
      res.setHeader('Content-Length', String(stat.size));
    }
  };

  // Before the GET route: Express would otherwise answer HEAD with the GET handler, which reads the
  // whole file from the runtime only to throw it away (a 100 GB file never answered).
  router.head('/content', async (req, res) => {
    const { path, inline } = parseInput(contentQuery, { ...req.query });
    const stat = await files.describeContent(contextOf(req), ownerOf(req), path);
    contentHeaders(res, stat, rangeOf(req, stat), inline);
    res.end();
  });

  router.get('/content', async (req, res) => {
    const { path, inline } = parseInput(contentQuery, { ...req.query });
    // A range that cannot be satisfied is refused (416) before any byte is read.
    const download = await files.read(contextOf(req), ownerOf(req), path, (stat) => rangeOf(req, stat));
    contentHeaders(res, download.stat, download.range, inline);
    await stream(res, download.body, download.done, () => download.abort(), sent);
  });

  router.get('/archive', async (req, res) => {
    const raw = req.query.path;
    const paths = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    const { name, body } = await files.archive(contextOf(req), ownerOf(req), paths);
    res.setHeader('Content-Type', 'application/zip');
    res.setHeader('Content-Disposition', contentDisposition(name));
    await stream(res, body, Promise.resolve(), () => body.destroy(), sent);
  });

  router.post('/upload', async (req, res, next) => {
    if (!req.is('multipart/form-data')) {
      // One file as the plain body: ?name= names it, Content-Length says how much must arrive.
      const { path, name, replace } = parseInput(rawUploadQuery, { ...req.query });
      const length = Number(req.get('Content-Length'));
      if (!req.get('Content-Length') || !Number.isSafeInteger(length)) throw new AppError(411, 'length_required', 'Send Content-Length with a file sent as the plain request body.');
      if (length > limits.maxUploadBytes) throw fromMulterError(new multer.MulterError('LIMIT_FILE_SIZE'), limits.maxUploadBytes);
      const uploaded = await files.uploadRaw(contextOf(req), ownerOf(req), path, name, length, replace, req);
      received(uploaded);
      return void res.status(201).json({ files: uploaded });
    }
    upload.any()(req, res, (error?: unknown) => {
      const session = uploadSessionOf(req);
      if (error) {
        const failure = fromMulterError(error, limits.maxUploadBytes);
        void session?.then((opened) => opened.abort(failure instanceof Error ? failure.message : String(failure)), () => undefined);
        return next(failure);
      }
      if (!session) return next(new AppError(400, 'empty_upload', 'The upload holds no files. Send them as multipart/form-data.'));
      session
        .then((opened) => opened.commit())
        .then((uploaded) => {
          received(uploaded);
          res.status(201).json({ files: uploaded });
        }, next);
    });
  });

  router.put('/content', express.raw({ type: () => true, limit: limits.maxTextEditBytes }), async (req, res) => {
    const { path } = parseInput(pathQuery, { ...req.query });
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const stat = await files.save(contextOf(req), ownerOf(req), path, { ifMatch: req.get('If-Match'), ifNoneMatch: req.get('If-None-Match') }, Readable.from([body]));
    observer.fileBytes('in', body.length);
    res.json({ file: sendStat(res, stat) });
  });

  router.post('/mkdir', async (req, res) => {
    const { path } = parseInput(mkdirBody, req.body);
    res.status(201).json({ file: sendStat(res, await files.mkdir(contextOf(req), ownerOf(req), path)) });
  });

  for (const kind of ['move', 'copy'] as const) {
    router.post(`/${kind}`, async (req, res) => {
      const { from, to, replace } = parseInput(transferBody, req.body);
      res.json({ file: sendStat(res, await files.transfer(contextOf(req), ownerOf(req), kind, from, to, replace)) });
    });
  }

  router.delete('/', async (req, res) => {
    const { path } = parseInput(pathQuery, { ...req.query });
    await files.remove(contextOf(req), ownerOf(req), path);
    res.status(204).end();
  });

  return router;
}
