/**
 * Turns tar streams (from the workspace tool's `pack`) into one zip, entry by entry, in constant memory: each tar
 * entry is handed to archiver as a stream and the next is read only once it has been written.
 * Entries that do not compress (media, archives, random data) are stored rather than deflated,
 * judged by deflating their first 64 KiB, so big downloads are not held up by a futile deflate.
 */
import { PassThrough, type Readable } from 'node:stream';
import { deflateRawSync } from 'node:zlib';
import archiver from 'archiver';
import tar from 'tar-stream';
import { useNativeCrc32 } from './native-crc32';

useNativeCrc32();

const SAMPLE_BYTES = 64 * 1024;
/** Deflate must save at least this share of the sample to be worth its time. */
const WORTH_DEFLATING = 0.9;

/** The first bytes of a stream, and a stream that yields all of it again. */
async function peek(stream: Readable, bytes: number): Promise<{ head: Buffer; whole: Readable }> {
  const chunks: Buffer[] = [];
  let size = 0;
  const ended = await new Promise<boolean>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= bytes) finish(false);
    };
    const onEnd = () => finish(true);
    const finish = (atEnd: boolean) => {
      stream.off('data', onData).off('end', onEnd).off('error', reject);
      stream.pause();
      resolve(atEnd);
    };
    stream.on('data', onData).once('end', onEnd).once('error', reject);
  });
  const head = Buffer.concat(chunks);
  const whole = new PassThrough();
  whole.write(head);
  if (ended) whole.end();
  else stream.pipe(whole);
  stream.once('error', (error) => whole.destroy(error));
  return { head, whole };
}

function compresses(sample: Buffer): boolean {
  if (sample.length === 0) return false;
  return deflateRawSync(sample, { level: 1 }).length < sample.length * WORTH_DEFLATING;
}

/** One zip of every tar source, in order; `tars` opens each source only when its turn comes. */
export function zipFromTars(tars: (() => Promise<Readable>)[]): Readable {
  const zip = archiver('zip', { zlib: { level: 6 } });
  // A download given up halfway must stop the tar too, or its sender would wait on it forever.
  let current: Readable | null = null;
  zip.once('close', () => current?.destroy());
  const addTar = (source: Readable) =>
    new Promise<void>((resolve, reject) => {
      const extract = tar.extract();
      extract.on('entry', (header, stream, next) => {
        const date = header.mtime ?? new Date();
        const mode = header.mode ?? undefined;
        if (header.type === 'directory') {
          zip.append(Buffer.alloc(0), { name: header.name.endsWith('/') ? header.name : `${header.name}/`, date, mode });
          stream.resume();
          return next();
        }
        if (header.type === 'symlink' && header.linkname) {
          zip.symlink(header.name, header.linkname, mode);
          stream.resume();
          return next();
        }
        if (header.type !== 'file' && header.type !== 'contiguous-file') {
          stream.resume();
          return next();
        }
        // tar-stream hands out streamx streams, which speak the same on/pause/pipe as Node's.
        peek(stream as unknown as Readable, SAMPLE_BYTES).then(({ head, whole }) => {
          whole.once('end', () => next());
          zip.append(whole, { name: header.name, date, mode, store: !compresses(head) });
        }, next);
      });
      extract.once('finish', resolve);
      extract.once('error', reject);
      source.once('error', reject);
      source.pipe(extract);
    });
  void (async () => {
    for (const open of tars) {
      if (zip.destroyed) return;
      current = await open();
      await addTar(current);
    }
    await zip.finalize();
  })().catch((error: unknown) => zip.destroy(error instanceof Error ? error : new Error(String(error))));
  return zip;
}
