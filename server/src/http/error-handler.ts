/**
 * Writes every error in the one shape of the API:
 * { "error": { "code", "message", "fields"?: [{ "field", "message" }] } }.
 * Unknown errors become a generic 500; their stack goes to the log only.
 */
import type { ServerResponse } from 'node:http';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../logging/logger';
import { AppError, ClientGoneError, NotFoundError } from '../errors/app-error';

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

const UNKNOWN_ERROR_MESSAGE = 'Something went wrong on our side. The request id in X-Request-Id helps an admin find it in the log.';

/** The error as one of ours (logged as it deserves, its headers set), or undefined after logging an unknown one. */
function knownError(error: unknown, logger: Logger, requestId: string | undefined, res: ServerResponse): AppError | undefined {
  // The client went away (its request aborted): nothing went wrong on either side, and no one to tell.
  if (error instanceof ClientGoneError) return error;
  const known = error instanceof AppError ? error : isBodyParserError(error) ? fromBodyParser(error) : undefined;
  if (!known) {
    logger.error('unhandled error', { requestId, error });
    return undefined;
  }
  if (known.status >= 500) logger.error(known.message, { requestId, code: known.code, detail: known.detail, cause: known.cause });
  else if (known.detail) logger.info(known.message, { requestId, code: known.code, detail: known.detail });
  if (!res.headersSent) for (const [name, value] of Object.entries(known.options.headers ?? {})) res.setHeader(name, value);
  return known;
}

export const errorHandler = (logger: Logger): ErrorRequestHandler => (error: unknown, req, res, _next) => {
  const known = knownError(error, logger, req.id, res);
  if (!known) {
    res.status(500).json({ error: { code: 'internal', message: UNKNOWN_ERROR_MESSAGE } });
    return;
  }
  res.status(known.status).json({ error: { code: known.code, message: known.message, ...(known.fields && { fields: known.fields }) } });
};

/** OpenAI's error type for a status, as its clients (OpenClaw among them) read it. */
function openAiType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  return status < 500 ? 'invalid_request_error' : 'api_error';
}

/**
 * The same errors on the model endpoint (/v1, answered before Express: model-endpoint.ts), in OpenAI's
 * shape: { "error": { "message", "type", "param", "code" } }.
 */
export function writeOpenAiError(res: ServerResponse, error: unknown, logger: Logger, requestId: string): void {
  const known = knownError(error, logger, requestId, res);
  // A stream already under way cannot change its status: it just ends (the gateway wrote its own error event).
  if (res.headersSent) return void res.end();
  const status = known?.status ?? 500;
  const body = JSON.stringify({ error: { message: known?.message ?? UNKNOWN_ERROR_MESSAGE, type: openAiType(status), param: null, code: known?.code ?? 'internal' } });
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
