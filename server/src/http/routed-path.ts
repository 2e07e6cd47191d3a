/**
 * Which user's runtime a request on the runtime origin names, read the way Traefik routes it. Both the
 * forward-auth check and the runtime origin's fallback (a path no runtime route matched) use it.
 */
import { AppError } from '../errors/app-error';
import { usernameSchema } from '../services/user.schemas';

/**
 * The runtime a path names, as Traefik routes it: `Path(/u/<name>) || PathPrefix(/u/<name>/)`
 * (proxy/routing-labels.ts); null for any other path.
 */
export function runtimeNamed(path: string): string | null {
  const name = /^\/u\/([^/]+)(?:\/|$)/.exec(path)?.[1];
  return name && usernameSchema.safeParse(name).success ? name : null;
}

/** The place inside `username`'s runtime a `/u/<username>...` path names (`/u/alice/chat?x` -> `/chat?x`). */
export function insideRuntime(path: string, username: string): string {
  return path.slice(`/u/${username}`.length) || '/';
}

/** RFC 3986 unreserved characters: Traefik decodes their escapes before it cleans and routes. */
const UNRESERVED = /^[A-Za-z0-9._~-]$/;

/**
 * Escapes refused outright: a second decoding, by anything between Traefik and the runtime, would
 * turn them into a separator (`/`, `\`, `;`), a fresh escape (`%`) or the end of the string.
 */
function isRefusedEscape(code: number): boolean {
  return code < 0x20 || code === 0x7f || code === 0x2f || code === 0x5c || code === 0x3b || code === 0x25;
}

export class AmbiguousPathError extends AppError {
  constructor(detail: string) {
    super(400, 'ambiguous_path', "This address can be read in more than one way (a .. segment, an encoded slash or the like), so it is refused. Use your runtime's plain address.", { detail });
  }
}

/**
 * Reads X-Forwarded-Uri the way Traefik v3 routed the request: escapes of unreserved characters
 * decoded, then `.`, `..` and empty segments removed (its entrypoint's normalizePath and
 * sanitizePath, on by default; the query is left alone). Traefik's router matched on the result,
 * so that is the path whose runtime must be the caller's. It must also name that same runtime
 * before the cleaning, so the answer holds behind a proxy that does not clean paths; and whatever a
 * proxy or server could read as a separator or a dot segment in some other way (backslashes,
 * encoded slashes, `..;x`, double encodings) is refused rather than guessed at.
 */
export function routedPath(uri: string): { username: string | null; path: string } {
  // Traefik sends the request URI as Go escapes it: no fragment, the path in printable ASCII.
  if (uri.includes('#')) throw new AmbiguousPathError('a fragment');
  const queryAt = uri.indexOf('?');
  const rawPath = queryAt === -1 ? uri : uri.slice(0, queryAt);
  const query = queryAt === -1 ? '' : uri.slice(queryAt);
  if (!rawPath.startsWith('/')) return { username: null, path: uri };
  if (!/^[\x21-\x7e]*$/.test(rawPath)) throw new AmbiguousPathError('a character outside printable ASCII');
  if (rawPath.includes('\\')) throw new AmbiguousPathError('a backslash');

  const decoded = rawPath.replace(/%([0-9A-Fa-f]{2})?/g, (_escape, hex: string | undefined) => {
    if (hex === undefined) throw new AmbiguousPathError('a malformed escape');
    const code = Number.parseInt(hex, 16);
    const character = String.fromCharCode(code);
    if (UNRESERVED.test(character)) return character;
    if (isRefusedEscape(code)) throw new AmbiguousPathError(`the escape %${hex}`);
    return `%${hex.toUpperCase()}`;
  });

  const segments = decoded.split('/').slice(1);
  if (segments.some((segment) => /^\.\.?;/.test(segment))) throw new AmbiguousPathError('a dot segment with a ;parameter');
  const kept: string[] = [];
  for (const segment of segments) {
    if (segment === '..') kept.pop();
    else if (segment !== '' && segment !== '.') kept.push(segment);
  }
  // Go's URL.JoinPath, which Traefik cleans with, keeps one trailing slash.
  let cleaned = `/${kept.join('/')}`;
  if (decoded.endsWith('/') && !cleaned.endsWith('/')) cleaned += '/';

  const username = runtimeNamed(cleaned);
  if (username !== runtimeNamed(decoded)) throw new AmbiguousPathError('cleaning the path changes the runtime it names');
  return { username, path: cleaned + query };
}
