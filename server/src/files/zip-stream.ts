/**
 * Turns tar streams (from the workspace tool's `pack`) into one zip, entry by entry, in constant
 * memory whatever the number of entries: the next tar entry is read only once the previous one was
 * handed on, and what the zip's directory needs is kept as bytes (zip-writer.ts).
 *
 * Every regular file under the chosen paths is in the zip with its content (tar dereferences hard
 * links). What cannot be in it (named pipes, sockets, devices, files tar could not read) is never
 * dropped silently: a listing named LEFT_OUT_NAME at the end of the zip names each such path and why.
 *
 * Entries that do not compress (media, archives, random data) are stored rather than deflated:
 * small ones are deflated whole and kept whichever way is smaller; big ones are judged by deflating
 * their first 64 KiB, so big downloads are not held up by a futile deflate.
 */
import { once } from 'node:events';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import { DEFLATED, STORED, ZipWriter, type ZipEntryInfo } from './zip-writer';

const SAMPLE_BYTES = 64 * 1024;
const EMPTY = Buffer.alloc(0);
/** Deflate must save at least this share of the bytes to be worth its time. */
const WORTH_DEFLATING = 0.9;
const LEVEL = 6;
/** The name of the listing of what was left out, at the top of the zip. */
export const LEFT_OUT_NAME = 'LEFT-OUT-OF-THIS-ZIP.txt';
/** Named one by one in the listing; beyond this, counted (so the listing is bounded too). */
export const MAX_NAMED = 10_000;

/** A path the zip does not hold as it is on disk, and why (in words for the user). */
export interface LeftOut {
  path: string | null;
  reason: string;
}

/** What the tool said once a tar was sent: what tar itself left out (unreadable files, sockets). */
export interface PackAnswer {
  leftOut?: LeftOut[];
  /** Left out beyond those named. */
  moreLeftOut?: number;
}

/** One tar to add: its bytes, and the tool's answer once they are all sent. */
export interface TarSource {
  body: Readable;
  done: Promise<PackAnswer | void>;
}

/** One entry of a tar being read: its header, and a stream of its bytes. */
type TarEntry = ReturnType<typeof tar.extract> extends AsyncIterable<infer Entry> ? Entry : never;

const crc32 = (data: Uint8Array, value?: number): number => zlib.crc32(data, value);

function compresses(sample: Buffer): boolean {
  if (sample.length === 0) return false;
  return zlib.deflateRawSync(sample, { level: 1 }).length < sample.length * WORTH_DEFLATING;
}

const KINDS: Record<string, string> = {
  fifo: 'a named pipe (FIFO): it has no content of its own',
  'character-device': 'a character device: it has no content of its own',
  'block-device': 'a block device: it has no content of its own',
  link: 'a hard link tar did not expand',
};

/** The tar entries of one source, one at a time; each must be read to its end before the next. */
async function* entriesOf(source: Readable): AsyncGenerator<TarEntry> {
  const extract = tar.extract();
  let ended = false;
  source.once('end', () => (ended = true));
  source.once('error', (error) => extract.destroy(error));
  // Closed before its end (the download was given up): the entry being read must not wait forever.
  source.once('close', () => {
    if (!ended) extract.destroy(new Error('the tar stream was cut off'));
  });
  source.pipe(extract);
  yield* extract;
}

/** Reads up to `limit` bytes of an entry: the chunks, their total, and whether the entry ended. */
async function readHead(chunks: AsyncIterator<Buffer>, limit: number): Promise<{ head: Buffer[]; bytes: number; ended: boolean }> {
  const head: Buffer[] = [];
  let bytes = 0;
  while (bytes < limit) {
    const next = await chunks.next();
    if (next.done) return { head, bytes, ended: true };
    head.push(next.value);
    bytes += next.value.length;
  }
  return { head, bytes, ended: false };
}

/** The listing of what was left out, as the zip's last entry. */
function listing(leftOut: LeftOut[], more: number): Buffer {
  const total = leftOut.length + more;
  const lines = [
    `${total === 1 ? 'One entry was' : `${total} entries were`} left out of this zip, or are not in it exactly as on disk:`,
    '',
    ...leftOut.map((entry) => (entry.path === null ? entry.reason : `${JSON.stringify(entry.path)}: ${entry.reason}`)),
  ];
  if (more) lines.push(`... and ${more} more, not named here.`);
  return Buffer.from(`${lines.join('\n')}\n`, 'utf8');
}

class Zipper {
  readonly writer = new ZipWriter();
  private readonly leftOut: LeftOut[] = [];
  private moreLeftOut = 0;
  private readonly topNames = new Set<string>();

  noteLeftOut(entry: LeftOut): void {
    if (this.leftOut.length < MAX_NAMED) this.leftOut.push(entry);
    else this.moreLeftOut += 1;
  }

  noteAnswer(answer: PackAnswer | void): void {
    for (const entry of answer?.leftOut ?? []) this.noteLeftOut(entry);
    this.moreLeftOut += answer?.moreLeftOut ?? 0;
  }

  async *entry(entry: TarEntry): AsyncGenerator<Buffer> {
    const { header } = entry;
    // tar-stream hands out streamx streams, whose chunks are Buffers.
    const chunks = entry[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const info: ZipEntryInfo = { name: header.name, kind: 'file', mtime: header.mtime ?? new Date(), mode: header.mode ?? 0o644 };
    this.topNames.add(header.name.split('/')[0]!);
    if (header.type === 'directory') {
      await drain(chunks);
      info.kind = 'directory';
      if (!info.name.endsWith('/')) info.name += '/';
      yield* await this.writer.whole(info, { method: STORED, crc: 0, size: 0, compressedSize: 0 }, EMPTY);
      return;
    }
    if (header.type === 'symlink') {
      await drain(chunks);
      const target = Buffer.from(header.linkname ?? '', 'utf8');
      info.kind = 'symlink';
      yield* await this.writer.whole(info, { method: STORED, crc: crc32(target), size: target.length, compressedSize: target.length }, target);
      return;
    }
    if (header.type !== 'file' && header.type !== 'contiguous-file') {
      await drain(chunks);
      this.noteLeftOut({ path: header.name, reason: KINDS[header.type] ?? `of a kind a zip cannot hold (${header.type})` });
      return;
    }
    const { head, bytes, ended } = await readHead(chunks, SAMPLE_BYTES);
    if (ended) {
      // Small: all of it is here, so deflate it and keep whichever is smaller.
      const whole = head.length === 1 ? head[0]! : Buffer.concat(head, bytes);
      const crc = crc32(whole);
      const deflated = bytes ? zlib.deflateRawSync(whole, { level: LEVEL }) : whole;
      const worth = bytes > 0 && deflated.length < bytes * WORTH_DEFLATING;
      yield* await this.writer.whole(info, { method: worth ? DEFLATED : STORED, crc, size: bytes, compressedSize: worth ? deflated.length : bytes }, worth ? deflated : whole);
      return;
    }
    const deflate = compresses(Buffer.concat(head, bytes));
    yield this.writer.begin(info, deflate ? DEFLATED : STORED, header.size);
    let crc = 0;
    let size = 0;
    let compressedSize = 0;
    const compressor = deflate ? zlib.createDeflateRaw({ level: LEVEL }) : null;
    const out: Buffer[] = [];
    compressor?.on('data', (chunk: Buffer) => out.push(chunk));
    try {
      for await (const chunk of rest(head, chunks)) {
        crc = crc32(chunk, crc);
        size += chunk.length;
        if (!compressor) out.push(chunk);
        else if (!compressor.write(chunk)) await once(compressor, 'drain');
        for (const piece of out.splice(0)) {
          compressedSize += piece.length;
          yield this.writer.data(piece);
        }
      }
      if (compressor) {
        compressor.end();
        await once(compressor, 'end');
        for (const piece of out.splice(0)) {
          compressedSize += piece.length;
          yield this.writer.data(piece);
        }
      }
    } finally {
      // Frees zlib's state now rather than whenever the collector gets to it.
      compressor?.destroy();
    }
    yield await this.writer.end({ crc, size, compressedSize });
  }

  async *finish(): AsyncGenerator<Buffer> {
    if (this.leftOut.length || this.moreLeftOut) {
      let name = LEFT_OUT_NAME;
      for (let n = 2; this.topNames.has(name); n += 1) name = LEFT_OUT_NAME.replace('.txt', ` (${n}).txt`);
      const text = listing(this.leftOut, this.moreLeftOut);
      yield* await this.writer.whole({ name, kind: 'file', mtime: new Date(), mode: 0o644 }, { method: STORED, crc: crc32(text), size: text.length, compressedSize: text.length }, text);
    }
    yield* this.writer.finish();
  }
}

async function drain(chunks: AsyncIterator<Buffer>): Promise<void> {
  while (!(await chunks.next()).done);
}

/** The chunks already read, then the rest of the entry. */
async function* rest(head: Buffer[], chunks: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield* head;
  for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
}

/** One zip of every tar source, in order; `tars` opens each source only when its turn comes. */
export function zipFromTars(tars: (() => Promise<TarSource>)[]): Readable {
  let current: Readable | null = null;
  async function* zip(): AsyncGenerator<Buffer> {
    const zipper = new Zipper();
    try {
      for (const open of tars) {
        const source = await open();
        current = source.body;
        for await (const entry of entriesOf(source.body)) yield* zipper.entry(entry);
        zipper.noteAnswer(await source.done);
        current = null;
      }
      yield* zipper.finish();
    } finally {
      await zipper.writer.close();
    }
  }
  const stream = Readable.from(zip(), { objectMode: false, highWaterMark: 256 * 1024 });
  // A download given up halfway must stop the tar too, or its sender would wait on it forever. (The
  // generator itself only learns of it once its pending read settles, which this brings about.)
  stream.once('close', () => current?.destroy());
  return stream;
}
