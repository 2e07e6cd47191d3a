import { randomBytes } from 'node:crypto';
import { archiverCrc32Modules, nativeCrc32 } from './native-crc32';
import { zipFromTars } from './zip-stream';

describe('the CRC-32 archiver uses', () => {
  it('is the native one once the zip writer is loaded', () => {
    expect(zipFromTars).toBeInstanceOf(Function);
    const modules = archiverCrc32Modules();
    expect(modules.length).toBeGreaterThan(0);
    for (const module of modules) expect(module.buf).toBe(nativeCrc32);
  });

  it('keeps crc-32 results: signed, the standard check value, and chainable with any seed', () => {
    // The CRC-32 check value of "123456789" is 0xCBF43926; crc-32 returns it as a signed int.
    expect(nativeCrc32(Buffer.from('123456789'))).toBe(0xcbf43926 | 0);
    expect(nativeCrc32(Buffer.alloc(0))).toBe(0);
    const whole = randomBytes(100_000);
    const first = nativeCrc32(whole.subarray(0, 33_333));
    expect(nativeCrc32(whole.subarray(33_333), first)).toBe(nativeCrc32(whole));
    expect(nativeCrc32(whole.subarray(33_333), first >>> 0)).toBe(nativeCrc32(whole));
  });

  it('agrees with crc-32 own JavaScript implementation', () => {
    // `bstr` (a byte string) is left as it was: the JavaScript table implementation.
    const [module] = archiverCrc32Modules() as unknown as { bstr(bytes: string): number }[];
    for (const size of [1, 15, 16, 17, 4096, 65_537]) {
      const bytes = randomBytes(size);
      expect(nativeCrc32(bytes)).toBe(module!.bstr(bytes.toString('latin1')));
    }
  });
});
