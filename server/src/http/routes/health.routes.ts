import { Router } from 'express';
import { ServiceUnavailableError } from '../../errors/app-error';

/** Liveness (no dependencies, no auth) and readiness (database open and fully migrated). */
export function healthRoutes(isReady: () => boolean): Router {
  const router = Router();
  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/ready', (_req, res) => {
    if (!isReady()) throw new ServiceUnavailableError('The database is not open or not migrated yet.');
    res.json({ status: 'ready' });
  });
  return router;
}
