/**
 * The framing the workspace tool reads on stdin (workspace-tool.cjs, readFrames): files of unknown
 * length, one after another, through one exec, ended by an explicit commit so that a stream cut
 * short is never mistaken for a finished one.
 */
const header = (kind: 'F' | 'D', length: number): Buffer => {
  const bytes = Buffer.alloc(5);
  bytes.write(kind, 0, 'latin1');
  bytes.writeUInt32BE(length, 1);
  return bytes;
};

export function beginFileFrame(relativePath: string): Buffer {
  const body = Buffer.from(JSON.stringify({ path: relativePath }), 'utf8');
  return Buffer.concat([header('F', body.length), body]);
}

export function dataFrames(chunk: Buffer): Buffer[] {
  return chunk.length === 0 ? [] : [header('D', chunk.length), chunk];
}

export const END_FILE_FRAME = Buffer.from('E', 'latin1');
export const COMMIT_FRAME = Buffer.from('Z', 'latin1');
