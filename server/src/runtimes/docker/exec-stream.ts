/**
 * Docker multiplexes an exec's stdout and stderr on one connection: frames of an 8-byte header
 * (stream id, three zero bytes, payload length) and the payload. dockerode's demuxStream writes
 * without waiting for the reader, so a 1 GiB download to a slow client would pile up in memory;
 * this Transform hands stdout on with backpressure and keeps the first 64 KiB of stderr.
 */
import { Transform, type TransformCallback } from 'node:stream';

const HEADER_BYTES = 8;
const STDERR = 2;
const STDERR_KEPT_BYTES = 64 * 1024;

export class ExecOutputDemuxer extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  private readonly stderrChunks: Buffer[] = [];
  private stderrBytes = 0;

  get stderr(): string {
    return Buffer.concat(this.stderrChunks).toString('utf8');
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let buffer = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (buffer.length >= HEADER_BYTES) {
      const length = buffer.readUInt32BE(4);
      if (buffer.length < HEADER_BYTES + length) break;
      const payload = buffer.subarray(HEADER_BYTES, HEADER_BYTES + length);
      if (buffer[0] === STDERR) this.keepStderr(payload);
      else this.push(payload);
      buffer = buffer.subarray(HEADER_BYTES + length);
    }
    // Copy the remainder: holding a slice would keep the whole chunk alive.
    this.pending = Buffer.from(buffer);
    callback();
  }

  private keepStderr(payload: Buffer): void {
    if (this.stderrBytes >= STDERR_KEPT_BYTES) return;
    const kept = payload.subarray(0, STDERR_KEPT_BYTES - this.stderrBytes);
    this.stderrChunks.push(Buffer.from(kept));
    this.stderrBytes += kept.length;
  }
}
