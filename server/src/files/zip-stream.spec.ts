/**
 * Zips made from tars, read back by independent readers (Python's zipfile, Info-ZIP's unzip): every
 * file with its bytes, nothing left out without a word, and memory that does not grow with the
 * number of entries. The Docker tests zip real workspaces through the API.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import tar from 'tar-stream';
import { LEFT_OUT_NAME, zipFromTars, type PackAnswer } from './zip-stream';

interface TarEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'fifo' | 'character-device' | 'link';
  content?: Buffer;
  linkname?: string;
  mode?: number;
}

/** A tar as the workspace tool sends one (GNU tar's output reads the same through tar-stream). */
function tarOf(entries: TarEntry[]): Readable {
  const pack = tar.pack();
  void (async () => {
    for (const entry of entries) {
      await new Promise<void>((resolve, reject) =>
        pack.entry({ name: entry.name, type: entry.type ?? 'file', linkname: entry.linkname, mode: entry.mode ?? 0o644, mtime: new Date('2026-05-04T03:02:01Z'), size: entry.content?.length ?? 0 }, entry.content ?? Buffer.alloc(0), (error) => (error ? reject(error) : resolve())),
      );
    }
    pack.finalize();
  })();
  return pack as unknown as Readable;
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Name, size, mode and content (as base64) of every entry, as Python's zipfile reads them, after checking every CRC. */
function readZip(file: string): { name: string; size: number; mode: number; content: string }[] {
  const script = [
    'import base64, json, sys, zipfile',
    'z = zipfile.ZipFile(sys.argv[1])',
    'bad = z.testzip()',
    'assert bad is None, bad',
    'print(json.dumps([{"name": i.filename, "size": i.file_size, "mode": i.external_attr >> 16, "content": base64.b64encode(z.read(i)).decode()} for i in z.infolist()]))',
  ].join('\n');
  return JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })) as { name: string; size: number; mode: number; content: string }[];
}

describe('zips made from tars', () => {
  let scratch: string;
  beforeEach(() => (scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'crewclaw-zip-'))));
  afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

  const zipToFile = async (sources: { entries: TarEntry[]; answer?: PackAnswer }[]) => {
    const zip = zipFromTars(sources.map((source) => () => Promise.resolve({ body: tarOf(source.entries), done: Promise.resolve(source.answer ?? {}) })));
    const file = path.join(scratch, 'out.zip');
    fs.writeFileSync(file, await collect(zip));
    // Info-ZIP's own check too: every local header, every CRC.
    execFileSync('unzip', ['-tqq', file]);
    return file;
  };

  it('holds every file with its bytes, folders, symlinks and modes; small and big, compressible or not', async () => {
    const random = randomBytes(3 * 1024 * 1024 + 7);
    const text = Buffer.from('the same line again\n'.repeat(200_000));
    const file = await zipToFile([
      {
        entries: [
          { name: 'docs/', type: 'directory', mode: 0o750 },
          { name: 'docs/empty.txt', content: Buffer.alloc(0) },
          { name: 'docs/small.txt', content: Buffer.from('hello') },
          { name: 'docs/random.bin', content: random },
          { name: 'docs/text.txt', content: text, mode: 0o600 },
          { name: 'docs/项目 计划 🚀.txt', content: Buffer.from('计划') },
          { name: 'docs/link', type: 'symlink', linkname: 'small.txt' },
        ],
      },
      { entries: [{ name: 'notes.txt', content: Buffer.from('notes') }] },
    ]);
    const byName = Object.fromEntries(readZip(file).map((entry) => [entry.name, entry]));
    expect(Object.keys(byName)).toEqual(['docs/', 'docs/empty.txt', 'docs/small.txt', 'docs/random.bin', 'docs/text.txt', 'docs/项目 计划 🚀.txt', 'docs/link', 'notes.txt']);
    expect(Buffer.from(byName['docs/random.bin']!.content, 'base64').equals(random)).toBe(true);
    expect(Buffer.from(byName['docs/text.txt']!.content, 'base64').equals(text)).toBe(true);
    expect(Buffer.from(byName['docs/项目 计划 🚀.txt']!.content, 'base64').toString()).toBe('计划');
    expect(byName['docs/']!.mode).toBe(0o40750);
    expect(byName['docs/text.txt']!.mode).toBe(0o100600);
    expect(byName['docs/link']!.mode).toBe(0o120644);
    expect(Buffer.from(byName['docs/link']!.content, 'base64').toString()).toBe('small.txt');
    // The text was deflated, the random bytes stored.
    const listing = execFileSync('unzip', ['-v', file], { encoding: 'utf8' });
    expect(listing).toMatch(/\s+Defl:N\s+\d+\s+\d+%.*docs\/text\.txt/);
    expect(listing).toMatch(/\s+Stored\s+\d+\s+0%.*docs\/random\.bin/);
    expect(listing).not.toContain(LEFT_OUT_NAME);
  });

  it('names every entry it could not hold, and every path the tool said tar left out, in a listing at the end', async () => {
    const file = await zipToFile([
      {
        entries: [
          { name: 'work/', type: 'directory' },
          { name: 'work/a.txt', content: Buffer.from('a') },
          { name: 'work/pipe', type: 'fifo' },
          { name: 'work/tty', type: 'character-device' },
          { name: 'work/b.txt', type: 'link', linkname: 'work/a.txt' },
        ],
        answer: { leftOut: [{ path: 'work/secret.txt', reason: 'could not be read (Permission denied)' }], moreLeftOut: 0 },
      },
      // A chosen file of that very name is not overwritten by the listing.
      { entries: [{ name: LEFT_OUT_NAME, content: Buffer.from('mine') }], answer: { leftOut: [{ path: 'work/sock', reason: 'a socket: it has no content of its own' }], moreLeftOut: 2 } },
    ]);
    const entries = readZip(file);
    expect(entries.map((entry) => entry.name)).toEqual(['work/', 'work/a.txt', LEFT_OUT_NAME, LEFT_OUT_NAME.replace('.txt', ' (2).txt')]);
    expect(Buffer.from(entries[2]!.content, 'base64').toString()).toBe('mine');
    const text = Buffer.from(entries[3]!.content, 'base64').toString();
    expect(text).toContain('7 entries were left out');
    expect(text).toContain('"work/pipe": a named pipe (FIFO)');
    expect(text).toContain('"work/tty": a character device');
    expect(text).toContain('"work/b.txt": a hard link');
    expect(text).toContain('"work/secret.txt": could not be read (Permission denied)');
    expect(text).toContain('"work/sock": a socket');
    expect(text).toContain('and 2 more, not named here');
  });

  it('reads the next tar entry only once the zip has taken the last one, however small the entries', async () => {
    // 20,000 small files: a zip that ran ahead of its reader held all of them in memory at once.
    const entries = Array.from({ length: 20_000 }, (_, index) => ({ name: `many/f${index}.txt`, content: Buffer.from(`file ${index} `.repeat(20)) }));
    let sourceBytes = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        sourceBytes += chunk.length;
        done(null, chunk);
      },
    });
    tarOf(entries).pipe(counted);
    const zip = zipFromTars([() => Promise.resolve({ body: counted, done: Promise.resolve({}) })]);
    // A client that reads the first bytes and then stalls.
    await new Promise((resolve) => zip.once('readable', resolve));
    zip.read(1);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // The tar is 19.5 MiB. What was read of it is what it took to fill the zip's own 256 KiB of
    // buffer (a small entry shrinks tenfold), and stays the same however many entries follow.
    expect(sourceBytes).toBeLessThan(5 * 1024 * 1024);
    // Then the client reads on: the zip is whole.
    const rest = await collect(zip);
    expect(rest.length).toBeGreaterThan(1024 * 1024);
    expect(sourceBytes).toBeGreaterThan(19 * 1024 * 1024);
  });

  it('keeps a directory of 70,000 entries out of memory and ends it with ZIP64 records', async () => {
    const entries = Array.from({ length: 70_000 }, (_, index) => ({ name: `lots/${String(index).padStart(6, '0')}.txt`, content: Buffer.from(String(index)) }));
    const opened: string[] = [];
    const realOpen = fs.promises.open;
    const open = jest.spyOn(fs.promises, 'open').mockImplementation((...args: Parameters<typeof fs.promises.open>) => {
      opened.push(String(args[0]));
      return realOpen(...args);
    });
    try {
      const file = await zipToFile([{ entries }]);
      // Past 1 MiB of directory records, the rest went to a temporary file, already unlinked.
      expect(opened).toHaveLength(1);
      expect(fs.existsSync(opened[0]!)).toBe(false);
      const names = execFileSync('python3', ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(len(z.infolist()), z.read("lots/069999.txt").decode())', file], { encoding: 'utf8' });
      expect(names.trim()).toBe('70000 69999');
    } finally {
      open.mockRestore();
    }
  }, 60_000);

  it('writes ZIP64 sizes and offsets for a file over 4 GiB, and entries after it stay readable', async () => {
    const big = 4 * 1024 ** 3 + 12_345;
    const zeros = Buffer.alloc(1024 * 1024);
    const head = randomBytes(64 * 1024);
    // One tar: a 4 GiB file whose first 64 KiB do not compress (so it is stored, quickly), then a small one.
    const pack = tar.pack();
    const body = pack as unknown as Readable;
    void (async () => {
      const entry = pack.entry({ name: 'huge.bin', size: big, mode: 0o644, mtime: new Date() });
      const write = (chunk: Buffer) => new Promise<void>((resolve) => (entry.write(chunk) ? resolve() : entry.once('drain', () => resolve())));
      await write(head);
      for (let left = big - head.length; left > 0; left -= zeros.length) await write(left >= zeros.length ? zeros : zeros.subarray(0, left));
      entry.end(Buffer.alloc(0));
      await new Promise<void>((resolve) => pack.entry({ name: 'after.txt', mode: 0o644, mtime: new Date() }, Buffer.from('still here'), () => resolve()));
      pack.finalize();
    })();
    const zip = zipFromTars([() => Promise.resolve({ body, done: Promise.resolve({}) })]);
    // Written sparse: runs of zeros are skipped, not written, so the test needs no 4 GiB of disk.
    const file = path.join(scratch, 'huge.zip');
    const fd = fs.openSync(file, 'w');
    let position = 0;
    for await (const chunk of zip) {
      const bytes = chunk as Buffer;
      const zero = bytes.length >= 4096 && bytes.length <= zeros.length && bytes.equals(zeros.subarray(0, bytes.length));
      if (!zero) fs.writeSync(fd, bytes, 0, bytes.length, position);
      position += bytes.length;
    }
    fs.ftruncateSync(fd, position);
    fs.closeSync(fd);
    const script = 'import hashlib, sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); i = z.getinfo("huge.bin"); print(i.file_size, i.compress_size, z.read("after.txt").decode(), hashlib.sha256(z.open("huge.bin").read(65536)).hexdigest() == sys.argv[2])';
    const out = execFileSync('python3', ['-c', script, file, createHash('sha256').update(head).digest('hex')], { encoding: 'utf8' });
    expect(out.trim()).toBe(`${big} ${big} still here True`);
  }, 120_000);
});
