import { PassThrough } from 'node:stream';
import { createLogger } from './logger';
import { REDACTED, redact, redactUrl } from './redact';

describe('redact', () => {
  it('replaces secrets under sensitive keys at any depth', () => {
    const input = {
      user: 'alice',
      password: 'p1',
      nested: { headers: { Authorization: 'Bearer t', cookie: 'sid=1', 'x-csrf-token': 'c' }, list: [{ apiKey: 'k', newPassword: 'p2' }] },
    };
    expect(redact(input)).toEqual({
      user: 'alice',
      password: REDACTED,
      nested: { headers: { Authorization: REDACTED, cookie: REDACTED, 'x-csrf-token': REDACTED }, list: [{ apiKey: REDACTED, newPassword: REDACTED }] },
    });
    expect(input.password).toBe('p1');
  });

  it('survives cycles and keeps error stacks', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(redact(cyclic)).toEqual({ a: 1, self: '[circular]' });
    expect(redact(new Error('boom'))).toMatchObject({ message: 'boom', stack: expect.stringContaining('boom') });
  });

  it('redacts sensitive query parameters only', () => {
    expect(redactUrl('/api/x?token=abc&page=2&access_token=z')).toBe('/api/x?token=%5Bredacted%5D&page=2&access_token=%5Bredacted%5D');
    expect(redactUrl('/api/x')).toBe('/api/x');
    // A runtime host's one-time sign-in code, and a secret inside an address passed along in `next`.
    expect(redactUrl('/api/auth/runtime-fallback?code=abc&next=%2Fchat')).toBe('/api/auth/runtime-fallback?code=%5Bredacted%5D&next=%2Fchat');
    expect(decodeURIComponent(redactUrl('/?next=%2Fu%2Fa%2Fx%3Ftoken%3Dabc%26page%3D2'))).toBe('/?next=/u/a/x?token=%5Bredacted%5D&page=2');
  });
});

describe('logger', () => {
  const capture = (format: 'json' | 'pretty') => {
    const lines: string[] = [];
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
    return { logger: createLogger({ level: 'info', format, stream }), lines };
  };

  it('writes JSON lines with secrets redacted', () => {
    const { logger, lines } = capture('json');
    logger.info('signed in', { username: 'alice', password: 'hunter2', headers: { authorization: 'Basic xyz' } });
    const entry = JSON.parse(lines.join('')) as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 'info', message: 'signed in', username: 'alice', password: REDACTED, headers: { authorization: REDACTED } });
    expect(lines.join('')).not.toMatch(/hunter2|xyz/);
  });

  it('writes readable lines in development, also redacted', () => {
    const { logger, lines } = capture('pretty');
    logger.warn('careful', { token: 'abc123' });
    expect(lines.join('')).toMatch(/warn.*careful/);
    expect(lines.join('')).not.toContain('abc123');
  });
});
