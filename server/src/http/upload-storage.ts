/**
 * A multer storage engine that writes nowhere on the control plane: each file part is streamed
 * straight into the runtime through one upload session per request, opened with the first file.
 * The route commits the session once multer is done, or aborts it on any error, so a request cut
 * off halfway leaves nothing behind.
 */
import type { Request } from 'express';
import multer from 'multer';
import { AppError } from '../errors/app-error';
import type { UploadSession } from '../services/files.service';

type OpenSession = (req: Request) => Promise<UploadSession>;

const sessions = new WeakMap<Request, Promise<UploadSession>>();

export function uploadSessionOf(req: Request): Promise<UploadSession> | undefined {
  return sessions.get(req);
}

class RuntimeUploadStorage implements multer.StorageEngine {
  constructor(private readonly open: OpenSession) {}

  _handleFile(req: Request, file: Express.Multer.File, callback: (error?: unknown, info?: Partial<Express.Multer.File>) => void): void {
    let session = sessions.get(req);
    if (!session) {
      session = this.open(req);
      sessions.set(req, session);
    }
    session
      .then((opened) => opened.addFile(file.originalname, file.stream))
      .then(
        (size) => callback(null, { size }),
        (error: unknown) => {
          file.stream.resume();
          callback(error);
        },
      );
  }

  _removeFile(_req: Request, _file: Express.Multer.File, callback: (error: Error | null) => void): void {
    // Nothing of a file is visible before the commit: aborting the session is the removal.
    callback(null);
  }
}

/** multer's own errors, in the API's words. */
export function fromMulterError(error: unknown, maxUploadBytes: number): unknown {
  if (!(error instanceof multer.MulterError)) return error;
  if (error.code === 'LIMIT_FILE_SIZE') {
    return new AppError(413, 'file_too_large', `A file is larger than the upload limit of ${formatBytes(maxUploadBytes)}; nothing was saved.`);
  }
  return new AppError(400, 'invalid_upload', `The upload could not be read (${error.message}); nothing was saved.`);
}

function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

export function runtimeUpload(open: OpenSession, maxUploadBytes: number) {
  return multer({
    storage: new RuntimeUploadStorage(open),
    // Folder uploads send each file's path below the chosen folder as its file name.
    preservePath: true,
    // Browsers send UTF-8 file names; busboy would read them as latin1 otherwise.
    defParamCharset: 'utf8',
    limits: { fileSize: maxUploadBytes, files: 100_000, fields: 100 },
  });
}
