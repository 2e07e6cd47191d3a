import { createHash, timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import { AppError } from '../../errors/app-error';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * GET /metrics in Prometheus' text format, for a scraper holding METRICS_TOKEN as its Bearer token.
 * Without a token configured, metrics are off and the path is not found. Traefik sends every path of
 * the platform's origin here, so the token is what keeps the numbers private.
 */
export function metricsRoutes(metrics: { render(): Promise<{ contentType: string; body: string }> }, token: string | undefined): Router {
  const router = Router();
  const expected = token ? digest(token) : null;
  router.get('/metrics', async (req, res) => {
    if (!expected) throw new AppError(404, 'not_found', 'Metrics are not turned on here.');
    const given = /^Bearer\s+(\S+)\s*$/i.exec(req.get('Authorization') ?? '')?.[1];
    // Compared as digests: the same length whatever was sent, and in constant time.
    if (!given || !timingSafeEqual(digest(given), expected)) {
      throw new AppError(401, 'unauthorized', 'Send the metrics token (METRICS_TOKEN) as a Bearer token.', { headers: { 'WWW-Authenticate': 'Bearer realm="metrics"' } });
    }
    const { contentType, body } = await metrics.render();
    res.setHeader('Cache-Control', 'no-store');
    res.type(contentType).send(body);
  });
  return router;
}
