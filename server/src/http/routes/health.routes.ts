import { Router } from 'express';
import type { Readiness } from '../../services/readiness.service';

/**
 * Liveness (no dependencies, no auth: the container's healthcheck) and readiness (each dependency by
 * name, services/readiness.service.ts). Not ready is a 503 that still carries every check, with the
 * error in the platform's one shape beside them.
 */
export function healthRoutes(readiness: { check(): Promise<Readiness> }): Router {
  const router = Router();
  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/ready', async (_req, res) => {
    const { ready, checks, message } = await readiness.check();
    if (ready) return void res.json({ status: 'ready', checks });
    res.status(503).json({ status: 'not_ready', checks, error: { code: 'service_unavailable', message } });
  });
  return router;
}
