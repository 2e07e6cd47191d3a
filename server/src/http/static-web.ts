/**
 * Serves the built Svelte app (dist/web). Hashed assets are cached for good;
 * index.html never is, so an upgrade reaches browsers at once. Any other GET
 * outside /api gets index.html, letting the app route on the client.
 */
import fs from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';

/** dist/web sits next to dist/server (built) and at the repository root's dist/ (from source). */
export const WEB_DIST_DIR = path.resolve(__dirname, '..', '..', '..', 'dist', 'web');

export function staticWeb(webDir = WEB_DIST_DIR): Router {
  const router = Router();
  const indexFile = path.join(webDir, 'index.html');
  router.use('/assets', express.static(path.join(webDir, 'assets'), { immutable: true, maxAge: '365d', fallthrough: false }));
  router.use(express.static(webDir, { index: false, maxAge: '1h' }));
  router.get(/^(?!\/api(\/|$)).*/, (_req, res) => {
    if (!fs.existsSync(indexFile)) {
      res.status(503).type('text/plain').send('The CrewClaw web UI is not built. Run `npm run build`.');
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(indexFile);
  });
  return router;
}
