/**
 * The zip format, written entry by entry with nothing kept per entry in memory (APPNOTE 6.3.10).
 *
 * A zip ends with a central directory that repeats every entry's name, checksum, sizes and offset,
 * so whatever writes one must keep those until the end. archiver kept a JavaScript object per entry
 * (and read entries ahead into its queue): a 20,000-file folder took the control plane from 120 to
 * 350-400 MiB. Here each entry's directory record is encoded into bytes as soon as the entry is
 * written, and past SPILL_BYTES those bytes go to an unlinked temporary file, so memory stays the
 * same whatever the number of entries.
 *
 * Names are UTF-8 (flag bit 11); Unix modes go in the external attributes, so symlinks stay symlinks
 * and modes survive `unzip`; times are DOS times plus the exact Unix mtime (extra field 0x5455).
 * ZIP64 fields appear only where a size, an offset or the count needs them.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

const LOCAL_HEADER = 0x04034b50;
const DATA_DESCRIPTOR = 0x08074b50;
const CENTRAL_HEADER = 0x02014b50;
const ZIP64_END = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
const END = 0x06054b50;
const MAX32 = 0xffffffff;
const MAX16 = 0xffff;
const UTF8_NAMES = 0x0800;
const SIZES_FOLLOW = 0x0008;
/** Made by: Unix (3), spec 4.5 (ZIP64). */
const MADE_BY = (3 << 8) | 45;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
/** Directory records kept in memory before they go to a temporary file: about 10,000 entries. */
export const SPILL_BYTES = 1024 * 1024;

export const STORED = 0;
export const DEFLATED = 8;

export interface ZipEntryInfo {
  /** Folder names end with '/'. */
  name: string;
  kind: 'file' | 'directory' | 'symlink';
  mtime: Date;
  /** Permission bits (07777). */
  mode: number;
}

/** What is known of an entry's data once it is written. */
export interface ZipEntryData {
  method: typeof STORED | typeof DEFLATED;
  crc: number;
  size: number;
  compressedSize: number;
}

function dosDateTime(date: Date): { time: number; date: number } {
  const year = date.getFullYear();
  // DOS dates start in 1980 and end in 2107.
  if (Number.isNaN(year) || year < 1980) return { time: 0, date: (1 << 5) | 1 };
  if (year > 2107) return { time: (23 << 11) | (59 << 5) | 29, date: (127 << 9) | (12 << 5) | 31 };
  return {
    time: (date.getHours() << 11) | (date.getMinutes() << 5) | Math.floor(date.getSeconds() / 2),
    date: ((year - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate(),
  };
}

/** Extra field 0x5455 (extended timestamp): the modification time in Unix seconds. */
function timestampExtra(date: Date): Buffer {
  const extra = Buffer.alloc(9);
  extra.writeUInt16LE(0x5455, 0);
  extra.writeUInt16LE(5, 2);
  extra.writeUInt8(1, 4);
  const seconds = Math.floor(date.getTime() / 1000);
  extra.writeUInt32LE(Number.isFinite(seconds) ? Math.min(Math.max(seconds, 0), MAX32) : 0, 5);
  return extra;
}

/** Extra field 0x0001 (ZIP64) holding the given 8-byte values. */
function zip64Extra(values: number[]): Buffer {
  const extra = Buffer.alloc(4 + 8 * values.length);
  extra.writeUInt16LE(0x0001, 0);
  extra.writeUInt16LE(8 * values.length, 2);
  values.forEach((value, index) => extra.writeBigUInt64LE(BigInt(value), 4 + 8 * index));
  return extra;
}

function fileType(kind: ZipEntryInfo['kind']): number {
  return kind === 'directory' ? S_IFDIR : kind === 'symlink' ? S_IFLNK : S_IFREG;
}

/**
 * Whether data of `size` bytes may need ZIP64 sizes: deflate can grow incompressible data by a
 * little (zlib's deflateBound is below size + size/2048 + 1 KiB for these sizes).
 */
export function needsZip64(size: number): boolean {
  return size + Math.ceil(size / 2048) + 1024 >= MAX32;
}

/** The central directory's records: in memory up to `spillBytes`, then in an unlinked temporary file. */
class CentralDirectory {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private file: fs.FileHandle | null = null;
  private spilled = 0;
  count = 0;
  bytes = 0;

  constructor(private readonly spillBytes: number) {}

  async add(record: Buffer): Promise<void> {
    this.chunks.push(record);
    this.buffered += record.length;
    this.bytes += record.length;
    this.count += 1;
    if (this.buffered >= this.spillBytes) await this.spill();
  }

  private async spill(): Promise<void> {
    if (!this.file) {
      const name = path.join(os.tmpdir(), `crewclaw-zip-${process.pid}-${randomBytes(8).toString('hex')}`);
      this.file = await fs.open(name, 'wx+', 0o600);
      // Nobody else needs to see it, and it goes away with the handle whatever happens.
      await fs.unlink(name);
    }
    const block = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [];
    this.buffered = 0;
    await this.file.write(block, 0, block.length, this.spilled);
    this.spilled += block.length;
  }

  /** Every record, in order, in blocks of at most `spillBytes`. */
  async *read(): AsyncGenerator<Buffer> {
    if (this.file) {
      for (let position = 0; position < this.spilled; ) {
        const block = Buffer.allocUnsafe(Math.min(this.spillBytes, this.spilled - position));
        const { bytesRead } = await this.file.read(block, 0, block.length, position);
        if (bytesRead === 0) throw new Error('the zip directory file ended early');
        position += bytesRead;
        yield block.subarray(0, bytesRead);
      }
    }
    if (this.buffered) yield Buffer.concat(this.chunks, this.buffered);
  }

  async close(): Promise<void> {
    this.chunks = [];
    const file = this.file;
    this.file = null;
    await file?.close();
  }
}

/**
 * Encodes a zip as a sequence of byte blocks. The caller sends every block it is given, in order,
 * and reports the data bytes it sends between begin() and end() through data().
 */
export class ZipWriter {
  private offset = 0;
  private readonly directory: CentralDirectory;
  private current: { info: ZipEntryInfo; offset: number; zip64: boolean; method: ZipEntryData['method'] } | null = null;

  constructor(options: { spillBytes?: number } = {}) {
    this.directory = new CentralDirectory(options.spillBytes ?? SPILL_BYTES);
  }

  /** Bytes produced so far. */
  get written(): number {
    return this.offset;
  }

  get entries(): number {
    return this.directory.count;
  }

  /** An entry whose data is all at hand (already compressed if `data.method` says so): its header and data. */
  async whole(info: ZipEntryInfo, data: ZipEntryData, bytes: Buffer): Promise<Buffer[]> {
    const zip64 = needsZip64(data.size) || needsZip64(data.compressedSize);
    const header = this.localHeader(info, data, zip64, false);
    await this.record(info, data, this.offset, zip64);
    this.offset += header.length + bytes.length;
    return bytes.length ? [header, bytes] : [header];
  }

  /**
   * Begins an entry whose data follows as it comes (data(), then end()). `size` is its length before
   * compression, known from the tar header: it decides whether the sizes need ZIP64.
   */
  begin(info: ZipEntryInfo, method: ZipEntryData['method'], size: number): Buffer {
    if (this.current) throw new Error('an entry is still open');
    const zip64 = needsZip64(size);
    const header = this.localHeader(info, { method, crc: 0, size: 0, compressedSize: 0 }, zip64, true);
    this.current = { info, offset: this.offset, zip64, method };
    this.offset += header.length;
    return header;
  }

  /** Counts data bytes of the open entry as they are sent. */
  data(chunk: Buffer): Buffer {
    this.offset += chunk.length;
    return chunk;
  }

  /** Ends the open entry: its data descriptor. */
  async end(data: Omit<ZipEntryData, 'method'>): Promise<Buffer> {
    const entry = this.current;
    if (!entry) throw new Error('no entry is open');
    this.current = null;
    if (!entry.zip64 && (data.size > MAX32 || data.compressedSize > MAX32)) throw new Error(`"${entry.info.name}" grew past 4 GiB while it was zipped`);
    const descriptor = Buffer.alloc(entry.zip64 ? 24 : 16);
    descriptor.writeUInt32LE(DATA_DESCRIPTOR, 0);
    descriptor.writeUInt32LE(data.crc >>> 0, 4);
    if (entry.zip64) {
      descriptor.writeBigUInt64LE(BigInt(data.compressedSize), 8);
      descriptor.writeBigUInt64LE(BigInt(data.size), 16);
    } else {
      descriptor.writeUInt32LE(data.compressedSize, 8);
      descriptor.writeUInt32LE(data.size, 12);
    }
    await this.record(entry.info, { ...data, method: entry.method }, entry.offset, entry.zip64, true);
    this.offset += descriptor.length;
    return descriptor;
  }

  /** The central directory and the end records; the writer is done after this. */
  async *finish(): AsyncGenerator<Buffer> {
    if (this.current) throw new Error('an entry is still open');
    const start = this.offset;
    for await (const block of this.directory.read()) {
      this.offset += block.length;
      yield block;
    }
    const size = this.directory.bytes;
    const count = this.directory.count;
    const tail: Buffer[] = [];
    if (count >= MAX16 || size >= MAX32 || start >= MAX32) {
      const record = Buffer.alloc(56);
      record.writeUInt32LE(ZIP64_END, 0);
      record.writeBigUInt64LE(44n, 4);
      record.writeUInt16LE(MADE_BY, 12);
      record.writeUInt16LE(45, 14);
      record.writeBigUInt64LE(BigInt(count), 24);
      record.writeBigUInt64LE(BigInt(count), 32);
      record.writeBigUInt64LE(BigInt(size), 40);
      record.writeBigUInt64LE(BigInt(start), 48);
      const locator = Buffer.alloc(20);
      locator.writeUInt32LE(ZIP64_LOCATOR, 0);
      locator.writeBigUInt64LE(BigInt(this.offset), 8);
      locator.writeUInt32LE(1, 16);
      tail.push(record, locator);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(END, 0);
    end.writeUInt16LE(Math.min(count, MAX16), 8);
    end.writeUInt16LE(Math.min(count, MAX16), 10);
    end.writeUInt32LE(Math.min(size, MAX32), 12);
    end.writeUInt32LE(Math.min(start, MAX32), 16);
    tail.push(end);
    const last = Buffer.concat(tail);
    this.offset += last.length;
    yield last;
  }

  /** Releases the temporary file, if any; call it however the zip ended. */
  close(): Promise<void> {
    return this.directory.close();
  }

  private localHeader(info: ZipEntryInfo, data: ZipEntryData, zip64: boolean, streamed: boolean): Buffer {
    const name = Buffer.from(info.name, 'utf8');
    const extras = [timestampExtra(info.mtime)];
    // Sizes are 8 bytes in the ZIP64 field (and in the data descriptor) when it is there.
    if (zip64) extras.push(zip64Extra([streamed ? 0 : data.size, streamed ? 0 : data.compressedSize]));
    const extra = Buffer.concat(extras);
    const header = Buffer.alloc(30 + name.length + extra.length);
    const { time, date } = dosDateTime(info.mtime);
    header.writeUInt32LE(LOCAL_HEADER, 0);
    header.writeUInt16LE(zip64 ? 45 : 20, 4);
    header.writeUInt16LE(UTF8_NAMES | (streamed ? SIZES_FOLLOW : 0), 6);
    header.writeUInt16LE(data.method, 8);
    header.writeUInt16LE(time, 10);
    header.writeUInt16LE(date, 12);
    header.writeUInt32LE(data.crc >>> 0, 14);
    header.writeUInt32LE(zip64 ? MAX32 : data.compressedSize, 18);
    header.writeUInt32LE(zip64 ? MAX32 : data.size, 22);
    header.writeUInt16LE(name.length, 26);
    header.writeUInt16LE(extra.length, 28);
    name.copy(header, 30);
    extra.copy(header, 30 + name.length);
    return header;
  }

  private record(info: ZipEntryInfo, data: ZipEntryData, offset: number, zip64: boolean, streamed = false): Promise<void> {
    const name = Buffer.from(info.name, 'utf8');
    // In the directory, only the fields that do not fit go to the ZIP64 field, in this order.
    const wide = [data.size, data.compressedSize, offset].map((value, index) => (index < 2 ? zip64 || value >= MAX32 : value >= MAX32));
    const values = [data.size, data.compressedSize, offset].filter((_value, index) => wide[index]);
    const timestamp = timestampExtra(info.mtime);
    // The central copy of 0x5455 holds the flags and the mtime only, as the local one does here.
    const extra = values.length ? Buffer.concat([timestamp, zip64Extra(values)]) : timestamp;
    const record = Buffer.alloc(46 + name.length + extra.length);
    const { time, date } = dosDateTime(info.mtime);
    record.writeUInt32LE(CENTRAL_HEADER, 0);
    record.writeUInt16LE(MADE_BY, 4);
    record.writeUInt16LE(values.length ? 45 : 20, 6);
    record.writeUInt16LE(UTF8_NAMES | (streamed ? SIZES_FOLLOW : 0), 8);
    record.writeUInt16LE(data.method, 10);
    record.writeUInt16LE(time, 12);
    record.writeUInt16LE(date, 14);
    record.writeUInt32LE(data.crc >>> 0, 16);
    record.writeUInt32LE(wide[1] ? MAX32 : data.compressedSize, 20);
    record.writeUInt32LE(wide[0] ? MAX32 : data.size, 24);
    record.writeUInt16LE(name.length, 28);
    record.writeUInt16LE(extra.length, 30);
    // Unix mode and type in the high half; the DOS "directory" bit for folders.
    record.writeUInt32LE((((fileType(info.kind) | (info.mode & 0o7777)) << 16) | (info.kind === 'directory' ? 0x10 : 0)) >>> 0, 38);
    record.writeUInt32LE(wide[2] ? MAX32 : offset, 42);
    name.copy(record, 46);
    extra.copy(record, 46 + name.length);
    return this.directory.add(record);
  }
}
