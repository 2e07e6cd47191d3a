/**
 * Where LiteLLM's configuration is kept: a file on a volume the control plane writes and LiteLLM reads
 * (compose mounts it read-only there). It holds keys, so it is readable by LiteLLM's user alone.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The user the LiteLLM image runs as (litellm/Dockerfile). */
const LITELLM_UID = 65533;

export class LiteLlmConfigFile {
  constructor(readonly file: string) {}

  read(): string | null {
    try {
      return fs.readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  /** Replaces the file whole (a reader never sees half of it); false when it already said exactly this. */
  write(text: string): boolean {
    if (this.read() === text) return false;
    const dir = path.dirname(this.file);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const temporary = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, text, { mode: 0o600 });
    // As root (the control plane's container), hand the file and its folder to LiteLLM's user; elsewhere
    // (a developer's machine, the tests) the file stays the writer's own.
    if (process.getuid?.() === 0) {
      fs.chownSync(temporary, LITELLM_UID, LITELLM_UID);
      fs.chownSync(dir, LITELLM_UID, LITELLM_UID);
      fs.chmodSync(dir, 0o700);
    }
    fs.renameSync(temporary, this.file);
    return true;
  }
}
