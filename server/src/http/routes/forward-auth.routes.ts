/**
 * Traefik's forwardAuth target for every request to a runtime (`/u/<username>/...`): Traefik
 * passes the browser's headers (the session cookie among them) and tells the original method and
 * path in X-Forwarded-Method and X-Forwarded-Uri. A 2xx lets the request through with the headers
 * named in the middleware's authResponseHeaders copied onto it; anything else goes back to the
 * browser as it is.
 */
import { Router, type Request, type Response } from 'express';
import { contextOf } from '../../auth/request-context';
import { AppError, NotFoundError, UnauthorizedError } from '../../errors/app-error';
import { usernameSchema } from '../../services/user.schemas';
import type { RuntimeService } from '../../services/runtime.service';

/** The header OpenClaw's trusted-proxy auth reads the user from (openclaw-config.ts). */
export const IDENTITY_HEADER = 'X-Forwarded-User';
const RETRY_AFTER_SECONDS = '5';

/**
 * The runtime a path names, as Traefik routes it: `Path(/u/<name>) || PathPrefix(/u/<name>/)`
 * (proxy/routing-labels.ts); null for any other path.
 */
function runtimeNamed(path: string): string | null {
  const name = /^\/u\/([^/]+)(?:\/|$)/.exec(path)?.[1];
  return name && usernameSchema.safeParse(name).success ? name : null;
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

class AmbiguousPathError extends AppError {
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
function routedPath(uri: string): { username: string | null; path: string } {
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

/** The one value of a header Traefik sets once; two copies (which Node would join with ", ") are refused. */
function singleHeader(req: Request, name: string): string | undefined {
  const values = req.headersDistinct[name.toLowerCase()];
  if (values && values.length > 1) throw new AppError(400, 'duplicate_header', `The request carries ${name} more than once, so it is refused.`);
  return values?.[0];
}

/** A page load (not a script's fetch or a WebSocket): it can be sent somewhere else to wait. */
function isNavigation(req: Request, method: string): boolean {
  if (method !== 'GET' || req.get('Upgrade')) return false;
  return req.get('Sec-Fetch-Mode') === 'navigate' || (req.get('Accept') ?? '').includes('text/html');
}

/**
 * Sends a page load to the web UI, which signs in if needed, starts the runtime and comes back. The
 * web UI is on the platform's origin, the runtime on its own: the address is absolute.
 */
function sendToWebUi(res: Response, publicUrl: string, path: string): void {
  res.setHeader('Cache-Control', 'no-store');
  res.redirect(302, `${publicUrl}/?next=${encodeURIComponent(path)}`);
}

export function forwardAuthRoutes(runtimes: RuntimeService, publicUrl: string): Router {
  const router = Router();
  router.get('/', async (req, res) => {
    const target = routedPath(singleHeader(req, 'X-Forwarded-Uri') ?? '');
    const method = singleHeader(req, 'X-Forwarded-Method') ?? 'GET';
    if (!target.username) throw new NotFoundError('runtime');
    if (!req.user) {
      if (isNavigation(req, method)) return sendToWebUi(res, publicUrl, target.path);
      throw new UnauthorizedError('Sign in to CrewClaw to reach your runtime.');
    }
    // Another user's runtime looks exactly like one that does not exist.
    if (req.user.username !== target.username) throw new NotFoundError('runtime');
    const owner = { id: req.user.id, username: req.user.username };
    if ((await runtimes.access(contextOf(req), owner)) === 'ready') {
      res.setHeader(IDENTITY_HEADER, owner.username);
      res.setHeader('Cache-Control', 'no-store');
      return res.status(200).end();
    }
    if (isNavigation(req, method)) return sendToWebUi(res, publicUrl, target.path);
    throw new AppError(503, 'runtime_starting', 'Your runtime is starting. Try again in a few seconds.', { headers: { 'Retry-After': RETRY_AFTER_SECONDS } });
  });
  return router;
}
