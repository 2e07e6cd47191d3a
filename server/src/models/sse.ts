/**
 * Splits a server-sent event stream into whole events as bytes arrive, so that each can be looked at
 * (is it the usage chunk?) and passed on at once: nothing waits for more than the event it is in.
 */
export interface SseEvent {
  /** The event as it arrived, without its blank-line terminator. */
  raw: string;
  /** Its `data:` lines joined (the JSON of a chunk, or `[DONE]`); null for an event without data. */
  data: string | null;
}

export class SseSplitter {
  private buffer = '';
  private readonly decoder = new TextDecoder();

  /** The events completed by `bytes`. */
  push(bytes: Uint8Array): SseEvent[] {
    this.buffer += this.decoder.decode(bytes, { stream: true });
    const events: SseEvent[] = [];
    for (;;) {
      const end = /\r?\n\r?\n/.exec(this.buffer);
      if (!end) break;
      const raw = this.buffer.slice(0, end.index);
      this.buffer = this.buffer.slice(end.index + end[0].length);
      if (raw.trim() === '') continue;
      events.push({ raw, data: dataOf(raw) });
    }
    return events;
  }

  /** Whatever was left unterminated when the stream ended (a cut-off stream). */
  rest(): string {
    return this.buffer + this.decoder.decode();
  }
}

function dataOf(raw: string): string | null {
  const lines = raw.split(/\r?\n/).filter((line) => line.startsWith('data:'));
  if (lines.length === 0) return null;
  return lines.map((line) => line.slice(5).replace(/^ /, '')).join('\n');
}
