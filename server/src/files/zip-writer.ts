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

/** Writes extra field 0x5455 (extended timestamp: the modification time in Unix seconds) at `at`; 9 bytes. */
function writeTimestamp(buffer: Buffer, at: number, date: Date): number {
  const seconds = Math.floor(date.getTime() / 1000);
  buffer.writeUInt16LE(0x5455, at);
  buffer.writeUInt16LE(5, at + 2);
  buffer.writeUInt8(1, at + 4);
  buffer.writeUInt32LE(Number.isFinite(seconds) ? Math.min(Math.max(seconds, 0), MAX32) : 0, at + 5);
  return at + 9;
}

/** Writes extra field 0x0001 (ZIP64) holding the given 8-byte values at `at`. */
function writeZip64(buffer: Buffer, at: number, values: number[]): number {
  buffer.writeUInt16LE(0x0001, at);
  buffer.writeUInt16LE(8 * values.length, at + 2);
  values.forEach((value, index) => buffer.writeBigUInt64LE(BigInt(value), at + 4 + 8 * index));
  return at + 4 + 8 * values.length;
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

/**
 * The central directory's records, written straight into one block of `spillBytes` (no object per
 * record: tens of thousands of small Buffers would outlive many collections and pile up as
 * garbage); each full block goes to an unlinked temporary file.
 */
class CentralDirectory {
  private readonly block: Buffer;
  private used = 0;
  private file: fs.FileHandle | null = null;
  private spilled = 0;
  count = 0;
  bytes = 0;

  constructor(spillBytes: number) {
    // Room for the longest record there can be (a 64 KiB name and its extra fields).
    this.block = Buffer.allocUnsafe(Math.max(spillBytes, 128 * 1024));
  }

  /** `length` bytes to write one record into, valid until the next call. */
  async reserve(length: number): Promise<Buffer> {
    if (this.used + length > this.block.length) await this.spill();
    const record = this.block.subarray(this.used, this.used + length);
    this.used += length;
    this.bytes += length;
    this.count += 1;
    return record;
  }

  private async spill(): Promise<void> {
    if (!this.file) {
      const name = path.join(os.tmpdir(), `crewclaw-zip-${process.pid}-${randomBytes(8).toString('hex')}`);
      this.file = await fs.open(name, 'wx+', 0o600);
      // Nobody else needs to see it, and it goes away with the handle whatever happens.
      await fs.unlink(name);
    }
    await this.file.write(this.block, 0, this.used, this.spilled);
    this.spilled += this.used;
    this.used = 0;
  }

  /** Every record, in order, in blocks. */
  async *read(): AsyncGenerator<Buffer> {
    if (this.file) {
      for (let position = 0; position < this.spilled; ) {
        const block = Buffer.allocUnsafe(Math.min(this.block.length, this.spilled - position));
        const { bytesRead } = await this.file.read(block, 0, block.length, position);
        if (bytesRead === 0) throw new Error('the zip directory file ended early');
        position += bytesRead;
        yield block.subarray(0, bytesRead);
      }
    }
    if (this.used) yield this.block.subarray(0, this.used);
  }

  async close(): Promise<void> {
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
    const descriptor = Buffer.allocUnsafe(entry.zip64 ? 24 : 16);
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
    const nameLength = Buffer.byteLength(info.name, 'utf8');
    // Sizes are 8 bytes in the ZIP64 field (and in the data descriptor) when it is there.
    const extraLength = 9 + (zip64 ? 20 : 0);
    // From Node's shared pool: headers are short-lived, one ArrayBuffer each would be garbage to sweep.
    const header = Buffer.allocUnsafe(30 + nameLength + extraLength);
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
    header.writeUInt16LE(nameLength, 26);
    header.writeUInt16LE(extraLength, 28);
    header.write(info.name, 30, nameLength, 'utf8');
    const at = writeTimestamp(header, 30 + nameLength, info.mtime);
    if (zip64) writeZip64(header, at, [streamed ? 0 : data.size, streamed ? 0 : data.compressedSize]);
    return header;
  }

  private async record(info: ZipEntryInfo, data: ZipEntryData, offset: number, zip64: boolean, streamed = false): Promise<void> {
    const nameLength = Buffer.byteLength(info.name, 'utf8');
    // In the directory, only the fields that do not fit go to the ZIP64 field, in this order.
    const fields = [data.size, data.compressedSize, offset];
    const wide = fields.map((value, index) => (index < 2 && zip64) || value >= MAX32);
    const values = fields.filter((_value, index) => wide[index]);
    // The central copy of 0x5455 holds the flags and the mtime only, as the local one does here.
    const extraLength = 9 + (values.length ? 4 + 8 * values.length : 0);
    const record = await this.directory.reserve(46 + nameLength + extraLength);
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
    record.writeUInt16LE(nameLength, 28);
    record.writeUInt16LE(extraLength, 30);
    // No comment, disk 0, no internal attributes.
    record.fill(0, 32, 38);
    // Unix mode and type in the high half; the DOS "directory" bit for folders.
    record.writeUInt32LE((((fileType(info.kind) | (info.mode & 0o7777)) << 16) | (info.kind === 'directory' ? 0x10 : 0)) >>> 0, 38);
    record.writeUInt32LE(wide[2] ? MAX32 : offset, 42);
    record.write(info.name, 46, nameLength, 'utf8');
    const at = writeTimestamp(record, 46 + nameLength, info.mtime);
    if (values.length) writeZip64(record, at, values);
  }
}
