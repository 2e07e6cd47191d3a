/** Gives each request an id (kept from a sane incoming X-Request-Id) and echoes it in the response. */
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import '../auth/express-user';

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
export const REQUEST_ID_HEADER = 'X-Request-Id';

export function requestId(): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get(REQUEST_ID_HEADER);
    req.id = incoming && SANE_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader(REQUEST_ID_HEADER, req.id);
    next();
  };
}
