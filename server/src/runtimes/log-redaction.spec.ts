import { redactLogText, redactingStream } from './log-redaction';

describe('runtime log redaction', () => {
  it('hides tokens, keys and bearer credentials but keeps the rest', () => {
    const text = [
      'starting gateway on 18789',
      'Authorization: Bearer abcdefghijklmnop123',
      '{"apiKey":"rt_live_123456789","model":"default"}',
      'OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwxyz',
      'token=plainsecretvalue more',
    ].join('\n');
    const redacted = redactLogText(text, ['rt_live_123456789']);
    expect(redacted).toContain('starting gateway on 18789');
    expect(redacted).toContain('"model":"default"');
    expect(redacted).not.toMatch(/abcdefghijklmnop123|rt_live_123456789|sk-proj|plainsecretvalue/);
  });

  it('catches a secret split across chunks', async () => {
    const stream = redactingStream(['s3cr3t-runtime-token']);
    const out: string[] = [];
    stream.on('data', (chunk: Buffer) => out.push(chunk.toString()));
    stream.write('line one\nkey is s3cr3t-run');
    stream.write('time-token here\n');
    stream.end('tail');
    await new Promise((resolve) => stream.on('end', resolve));
    expect(out.join('')).toBe('line one\nkey is [redacted] here\ntail');
  });
});
