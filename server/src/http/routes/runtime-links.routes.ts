/**
 * Runtimes are served on their own origin only (proxy/runtime-address.ts): an old link or bookmark to
 * /u/<user>/... on the platform's origin is sent there, path and query kept.
 */
import { Router } from 'express';
import { runtimeAddress, type RuntimeAddressing } from '../../proxy/runtime-address';
import { runtimeNamed } from '../routed-path';

export function runtimeLinkRoutes(addressing: RuntimeAddressing): Router {
  const router = Router();
  router.get(/^\/u(\/|$)/, (req, res) => {
    if (addressing.layout === 'path') return res.redirect(302, `${addressing.origin}${req.originalUrl}`);
    const username = runtimeNamed(req.path);
    if (!username) return res.redirect(302, '/');
    const queryAt = req.originalUrl.indexOf('?');
    const rest = req.path.slice(`/u/${username}`.length) + (queryAt === -1 ? '' : req.originalUrl.slice(queryAt));
    res.redirect(302, runtimeAddress(addressing, username, rest || '/'));
  });
  return router;
}
