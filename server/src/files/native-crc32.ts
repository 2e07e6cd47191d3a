/**
 * archiver checksums every zip entry with the `crc-32` package, written in JavaScript: about 0.5 s of
 * CPU per GiB here, the largest single cost of a zip download and, on a small VM, the difference
 * between keeping up with `docker cp` and not. Node computes the same checksum natively
 * (zlib.crc32, about three times faster), so the copies of `crc-32` archiver's zip writer loads get
 * their `buf` pointed at it. archiver calls `crc32.buf(...)` through the module object at each
 * use, which is what makes this safe; the tests unzip with a checker that verifies every CRC.
 */
import { createRequire } from 'node:module';
import zlib from 'node:zlib';

interface Crc32Module {
  buf: (data: Uint8Array, seed?: number) => number;
}

const load = createRequire(__filename);

/** Where `name` resolves from inside package file `from`: nested copies are found, not just ours. */
const resolveFrom = (from: string, name: string) => createRequire(from).resolve(name);

/** The copies of `crc-32` used by archiver's zip writer (compress-commons and crc32-stream). */
export function archiverCrc32Modules(): Crc32Module[] {
  const zipStream = resolveFrom(load.resolve('archiver'), 'zip-stream');
  const commons = resolveFrom(zipStream, 'compress-commons');
  const stream = resolveFrom(commons, 'crc32-stream');
  return [...new Set([resolveFrom(commons, 'crc-32'), resolveFrom(stream, 'crc-32')])].map((file) => load(file) as Crc32Module);
}

/** `crc-32`'s contract: a signed 32-bit result, and any previous result (signed or not) as the seed. */
export function nativeCrc32(data: Uint8Array, seed = 0): number {
  return zlib.crc32(data, seed >>> 0) | 0;
}

export function useNativeCrc32(): void {
  for (const module of archiverCrc32Modules()) module.buf = nativeCrc32;
}
