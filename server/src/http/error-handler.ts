/**
 * Writes every error in the one shape of the API:
 * { "error": { "code", "message", "fields"?: [{ "field", "message" }] } }.
 * Unknown errors become a generic 500; their stack goes to the log only.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../logging/logger';
import { AppError, NotFoundError } from '../errors/app-error';

interface BodyParserError {
  type: string;
  status: number;
}

function isBodyParserError(error: unknown): error is BodyParserError {
  return typeof error === 'object' && error !== null && typeof (error as BodyParserError).type === 'string' && typeof (error as BodyParserError).status === 'number';
}

function fromBodyParser(error: BodyParserError): AppError | undefined {
  switch (error.type) {
    case 'entity.too.large':
      return new AppError(413, 'payload_too_large', 'The request body is too large.');
    case 'entity.parse.failed':
      return new AppError(400, 'invalid_json', 'The request body is not valid JSON.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError(415, 'unsupported_encoding', 'The request body encoding is not supported.');
    case 'request.aborted':
      return new AppError(400, 'request_aborted', 'The request was cut off.');
    default:
      return error.status >= 400 && error.status < 500 ? new AppError(error.status, 'bad_request', 'The request could not be read.') : undefined;
  }
}

export const apiNotFound: RequestHandler = () => {
  throw new NotFoundError('API route');
};

export const errorHandler = (logger: Logger): ErrorRequestHandler => (error: unknown, req, res, _next) => {
  const known = error instanceof AppError ? error : isBodyParserError(error) ? fromBodyParser(error) : undefined;
  if (!known) {
    logger.error('unhandled error', { requestId: req.id, error });
    res.status(500).json({ error: { code: 'internal', message: 'Something went wrong on our side. The request id in X-Request-Id helps an admin find it in the log.' } });
    return;
  }
  if (known.status >= 500) logger.error(known.message, { requestId: req.id, code: known.code, detail: known.detail, cause: known.cause });
  else if (known.detail) logger.info(known.message, { requestId: req.id, code: known.code, detail: known.detail });
  for (const [name, value] of Object.entries(known.options.headers ?? {})) res.setHeader(name, value);
  res.status(known.status).json({ error: { code: known.code, message: known.message, ...(known.fields && { fields: known.fields }) } });
};
