/**
 * One log line per request, written when the response finishes. Only what is
 * safe to keep: no headers, no bodies, sensitive query parameters redacted.
 */
import type { RequestHandler } from 'express';
import type { Logger } from '../logging/logger';
import { redactUrl } from '../logging/redact';

export interface RequestLine {
  requestId: string | undefined;
  method: string | undefined;
  url: string | undefined;
  status: number;
  /** process.hrtime.bigint() when the request arrived. */
  started: bigint;
  userId: number | undefined;
  ip: string | undefined;
}

export function logRequest(logger: Logger, line: RequestLine): void {
  const url = line.url ?? '';
  // The proxy asks /api/auth/forward before every request to a runtime: passing checks only at debug.
  const level = line.status < 300 && url.startsWith('/api/auth/forward') ? 'debug' : 'info';
  logger.log(level, 'request', {
    requestId: line.requestId,
    method: line.method,
    url: redactUrl(url),
    status: line.status,
    durationMs: Number((process.hrtime.bigint() - line.started) / 1000n) / 1000,
    userId: line.userId,
    ip: line.ip,
  });
}

export const requestLog = (logger: Logger): RequestHandler => (req, res, next) => {
  const started = process.hrtime.bigint();
  // Read now: by 'finish' a client that went away has taken its socket, and req.ip would throw.
  const ip = req.ip;
  res.on('finish', () => logRequest(logger, { requestId: req.id, method: req.method, url: req.originalUrl, status: res.statusCode, started, userId: req.user?.id, ip }));
  next();
};
