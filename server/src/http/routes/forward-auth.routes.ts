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

/** `/u/<username>` or anything below it, with the query; null for any other path. */
function runtimePath(uri: string): { username: string; path: string } | null {
  const match = /^\/u\/([^/?#]+)(?:[/?#]|$)/.exec(uri);
  if (!match?.[1] || !usernameSchema.safeParse(match[1]).success) return null;
  return { username: match[1], path: uri };
}

/** A page load (not a script's fetch or a WebSocket): it can be sent somewhere else to wait. */
function isNavigation(req: Request): boolean {
  const method = req.get('X-Forwarded-Method') ?? 'GET';
  if (method !== 'GET' || req.get('Upgrade')) return false;
  return req.get('Sec-Fetch-Mode') === 'navigate' || (req.get('Accept') ?? '').includes('text/html');
}

/** Sends a page load to the web UI, which signs in if needed, starts the runtime and comes back. */
function sendToWebUi(res: Response, path: string): void {
  res.setHeader('Cache-Control', 'no-store');
  res.redirect(302, `/?next=${encodeURIComponent(path)}`);
}

export function forwardAuthRoutes(runtimes: RuntimeService): Router {
  const router = Router();
  router.get('/', async (req, res) => {
    const target = runtimePath(req.get('X-Forwarded-Uri') ?? '');
    if (!target) throw new NotFoundError('runtime');
    if (!req.user) {
      if (isNavigation(req)) return sendToWebUi(res, target.path);
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
    if (isNavigation(req)) return sendToWebUi(res, target.path);
    throw new AppError(503, 'runtime_starting', 'Your runtime is starting. Try again in a few seconds.', { headers: { 'Retry-After': RETRY_AFTER_SECONDS } });
  });
  return router;
}
