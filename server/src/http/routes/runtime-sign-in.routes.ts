/**
 * `GET /api/auth/runtime-sign-in?next=/u/<me>/<path>`, on the platform's origin: opens a place in the
 * signed-in user's own runtime, whichever layout runtime addresses have (proxy/runtime-address.ts). The
 * web UI goes through it, and so does a runtime host whose visitor is not signed in there yet.
 *
 * In the path layout it only redirects (the session cookie reaches the runtime origin by itself). With
 * per-user subdomains it first makes a one-time code (services/runtime-handoff.ts) that the runtime
 * host redeems for a cookie of its own. A GET that signs in is safe to follow from anywhere: it only
 * ever signs the caller in to their own runtime, with their own session.
 */
import { Router, type Request, type Response } from 'express';
import { runtimeAddress, runtimeOrigin } from '../../proxy/runtime-address';
import { AmbiguousPathError, insideRuntime, routedPath } from '../routed-path';
import { sendRuntimeOriginPage } from '../runtime-origin-pages';
import { RETURNING_PARAM, RUNTIME_SIGN_IN_PATH, redirectUncached as redirect, type RuntimeEntry } from '../runtime-visitor';

export function runtimeSignInRoutes(entry: RuntimeEntry): Router {
  const router = Router();
  router.get('/', (req: Request, res: Response) => {
    const next = typeof req.query.next === 'string' ? req.query.next : '';
    let target: ReturnType<typeof routedPath>;
    try {
      target = routedPath(next);
    } catch (error) {
      if (!(error instanceof AmbiguousPathError)) throw error;
      return sendRuntimeOriginPage(req, res, 'ambiguous', entry.publicUrl);
    }
    if (!target.username) return sendRuntimeOriginPage(req, res, 'not_found', entry.publicUrl);
    // Not signed in: the web UI signs in and comes back here with the same place to open.
    if (!req.user) return redirect(res, `${entry.publicUrl}/?next=${encodeURIComponent(target.path)}`);
    if (req.user.username !== target.username) return sendRuntimeOriginPage(req, res, 'not_found', entry.publicUrl);
    const rest = insideRuntime(target.path, target.username);
    if (entry.addressing.layout === 'path') return redirect(res, runtimeAddress(entry.addressing, target.username, rest));
    // Sent back by the runtime host just after signing in there: the browser did not keep its cookie.
    if (req.query[RETURNING_PARAM] === '1' && entry.handoff.cookieRefused(req.sessionID)) return sendRuntimeOriginPage(req, res, 'cookies_refused', entry.publicUrl);
    const code = entry.handoff.issueCode(req.user, req.sessionID);
    const query = new URLSearchParams({ code, next: rest });
    redirect(res, `${runtimeOrigin(entry.addressing, target.username)}${RUNTIME_SIGN_IN_PATH}?${query.toString()}`);
  });
  return router;
}
