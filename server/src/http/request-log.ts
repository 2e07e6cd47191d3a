/**
 * One log line per request, written when the response finishes. Only what is
 * safe to keep: no headers, no bodies, sensitive query parameters redacted.
 */
import type { RequestHandler } from 'express';
import type { Logger } from '../logging/logger';
import { redactUrl } from '../logging/redact';

export const requestLog = (logger: Logger): RequestHandler => (req, res, next) => {
  const started = process.hrtime.bigint();
  // Read now: by 'finish' a client that went away has taken its socket, and req.ip would throw.
  const ip = req.ip;
  res.on('finish', () => {
    // The proxy asks /api/auth/forward before every request to a runtime: passing checks only at debug.
    const level = res.statusCode < 300 && req.originalUrl.startsWith('/api/auth/forward') ? 'debug' : 'info';
    logger.log(level, 'request', {
      requestId: req.id,
      method: req.method,
      url: redactUrl(req.originalUrl),
      status: res.statusCode,
      durationMs: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
      userId: req.user?.id,
      ip,
    });
  });
  next();
};
