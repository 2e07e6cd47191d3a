import { SseSplitter } from './sse';

describe('SseSplitter', () => {
  const bytes = (text: string) => new TextEncoder().encode(text);

  it('gives whole events however the bytes are cut, multi-byte characters included', () => {
    const stream = 'data: {"a":"你好"}\n\ndata: [DONE]\r\n\r\n';
    const encoded = bytes(stream);
    for (let cut = 1; cut < encoded.length; cut += 1) {
      const splitter = new SseSplitter();
      const events = [...splitter.push(encoded.slice(0, cut)), ...splitter.push(encoded.slice(cut))];
      expect(events.map((event) => event.data)).toEqual(['{"a":"你好"}', '[DONE]']);
      expect(splitter.rest()).toBe('');
    }
  });

  it('joins multi-line data, skips comments-only events and keeps an unterminated tail', () => {
    const splitter = new SseSplitter();
    const events = splitter.push(bytes(': keep-alive\n\nevent: x\ndata: one\ndata: two\n\ndata: cut'));
    expect(events.map((event) => event.data)).toEqual([null, 'one\ntwo']);
    expect(splitter.rest()).toBe('data: cut');
  });
});
