/**
 * Paths in the files API: relative to the user's workspace root, checked before anything touches a
 * container. What passes here can still name a symlink that leads out of the workspace; the runtime
 * side resolves every path and refuses those (see files-driver commands).
 */
import { ValidationError } from '../errors/app-error';

const MAX_NAME_BYTES = 255;
const MAX_PATH_BYTES = 4096;

export interface WorkspacePath {
  /** The path's names from the root; empty for the root itself. */
  segments: string[];
  /** The same path as the API shows it: segments joined by "/", "" for the root. */
  relative: string;
}

export function describeProblem(path: string): string | null {
  if (path.includes('\0')) return 'must not contain NUL bytes';
  if (path.includes('\\')) return 'must use "/" between names, not "\\"';
  if (path.startsWith('/')) return 'must be relative to your workspace (no leading "/")';
  if (Buffer.byteLength(path, 'utf8') > MAX_PATH_BYTES) return `must be at most ${MAX_PATH_BYTES} bytes`;
  const segments = path.split('/');
  // One trailing "/" is how folders are often written: allow it; anything else empty is a typo.
  if (segments.length > 1 && segments.at(-1) === '') segments.pop();
  if (path !== '' && segments.some((name) => name === '')) return 'must not contain empty names ("//")';
  if (segments.some((name) => name === '..')) return 'must not contain ".."';
  if (segments.some((name) => name === '.')) return 'must not contain "." as a name';
  if (segments.some((name) => Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES)) return `names must be at most ${MAX_NAME_BYTES} bytes`;
  return null;
}

/** Parses an API path; `field` names it in the 400 when it is not acceptable. */
export function parseWorkspacePath(path: unknown, field = 'path', options: { allowRoot?: boolean } = {}): WorkspacePath {
  if (typeof path !== 'string') throw new ValidationError([{ field, message: 'must be a string' }]);
  const problem = describeProblem(path);
  if (problem) throw new ValidationError([{ field, message: problem }]);
  const segments = path === '' ? [] : path.replace(/\/$/, '').split('/');
  if (segments.length === 0 && options.allowRoot === false) throw new ValidationError([{ field, message: 'must name a file or folder, not the workspace itself' }]);
  return { segments, relative: segments.join('/') };
}

/** A single name (an uploaded file's or a new folder's), as it will appear on disk. */
export function parseName(name: unknown, field = 'name'): string {
  const parsed = parseWorkspacePath(name, field, { allowRoot: false });
  if (parsed.segments.length !== 1) throw new ValidationError([{ field, message: 'must be a single name, without "/"' }]);
  return parsed.segments[0]!;
}

export function joinPath(base: WorkspacePath, ...names: string[]): WorkspacePath {
  const segments = [...base.segments, ...names];
  return { segments, relative: segments.join('/') };
}
