/** Gives each request an id (kept from a sane incoming X-Request-Id) and echoes it in the response. */
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import '../auth/express-user';

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
export const REQUEST_ID_HEADER = 'X-Request-Id';

/** The id a request goes by: the one it came with if that is sane, else a new one. */
export function requestIdFrom(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && SANE_ID.test(incoming) ? incoming : randomUUID();
}

export function requestId(): RequestHandler {
  return (req, res, next) => {
    req.id = requestIdFrom(req.get(REQUEST_ID_HEADER));
    res.setHeader(REQUEST_ID_HEADER, req.id);
    next();
  };
}
