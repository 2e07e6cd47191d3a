/**
 * The model endpoint runtimes call (RUNTIME_MODEL_BASE_URL, openclaw-config.ts): OpenAI-compatible
 * `GET /v1/models` and `POST /v1/chat/completions`, authenticated by the runtime's token. The work is in
 * models/model-gateway.service.ts; here the request is read and the answer written, a stream as it comes
 * (no buffering), and the upstream call is cancelled when the client goes away.
 *
 * It is answered on Node's own request and response, before Express: every model call of every agent
 * passes here, and the platform's middleware (security headers for browsers, sessions, the router's
 * layers) cost a call more than the whole time budget the model endpoint has (docs/benchmarks.md, issue
 * #10). What of it a machine client needs is kept: a request id, the request log line, the body limit
 * and the one error shape (OpenAI's).
 */
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import type { Logger } from '../logging/logger';
import { NO_METRICS, type HttpObserver } from '../metrics/observers';
import { AppError } from '../errors/app-error';
import type { ModelCaller, ModelGateway } from '../models/model-gateway.service';
import { writeOpenAiError } from './error-handler';
import { requestIdFrom, REQUEST_ID_HEADER } from './request-id';
import { logRequest } from './request-log';

/** Whether a request is the model endpoint's (`/v1` and below), by its path as sent. */
export function isModelEndpointPath(url: string | undefined): boolean {
  const path = (url ?? '').split('?', 1)[0] ?? '';
  return path === '/v1' || path.startsWith('/v1/');
}

export interface ModelEndpointOptions {
  bodyLimitBytes: number;
  logger: Logger;
  /** The client's address as the platform judges it (behind Traefik, the one Traefik reports). */
  clientIp: (req: IncomingMessage) => string | undefined;
  /** The HTTP metrics, which Express's requests reach through their own middleware. */
  observer?: HttpObserver;
}

/** The route label of a model endpoint request: its two routes by name, anything else as one. */
function routeOf(url: string | undefined): string {
  const path = (url ?? '').split('?', 1)[0];
  return path === '/v1/chat/completions' || path === '/v1/models' ? path : '/v1/*';
}

export function modelEndpoint(gateway: ModelGateway, options: ModelEndpointOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const observer = options.observer ?? NO_METRICS;
  // Express's own JSON body reader (body-parser) works on Node's request: its limits and its errors.
  const parseJson = express.json({ limit: options.bodyLimitBytes, type: () => true });
  const readBody = (req: IncomingMessage, res: ServerResponse) =>
    new Promise<unknown>((resolve, reject) => {
      parseJson(req, res, (error?: Error) => (error ? reject(error) : resolve((req as { body?: unknown }).body)));
    });

  /** `called` learns who calls, for the log line. */
  async function answer(req: IncomingMessage, res: ServerResponse, called: (caller: ModelCaller) => void): Promise<void> {
    // Who calls, before anything else (an unknown path included), and before a body is read for them.
    const caller = gateway.authenticate(req.headers.authorization);
    called(caller);
    const path = (req.url ?? '').split('?', 1)[0] ?? '';
    if (path === '/v1/models' && req.method === 'GET') return writeJson(res, 200, JSON.stringify(gateway.listModels(caller)));
    if (path === '/v1/chat/completions' && req.method === 'POST') return chat(req, res, caller);
    throw new AppError(404, 'unknown_url', 'Unknown request URL: this endpoint offers GET /v1/models and POST /v1/chat/completions.');
  }

  async function chat(req: IncomingMessage, res: ServerResponse, caller: ModelCaller): Promise<void> {
    const body = await readBody(req, res);
    const gone = clientGone(res);
    // Its size as read (body-parser refuses a body whose length differs from its Content-Length), unless it
    // came compressed: then the gateway measures the prompt itself, or a zipped prompt would reserve too little.
    const declared = Number(req.headers['content-length']);
    // Nor in another charset than UTF-8 (in UTF-16 a Chinese character takes 2 bytes, not 3).
    const plain = (req.headers['content-encoding'] ?? 'identity').toLowerCase() === 'identity' && !/charset=(?!"?utf-8)/i.test(req.headers['content-type'] ?? '');
    const result = await gateway.chat(caller, body, gone, plain && Number.isSafeInteger(declared) && declared > 0 ? declared : null);
    if (result.kind === 'json') return writeJson(res, result.status, result.body);
    res.writeHead(result.status, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' });
    try {
      for await (const events of result.events) {
        // A client reading slower than the model writes: wait for it rather than hold the rest in memory.
        if (!res.write(events)) await once(res, 'drain', { signal: gone });
      }
      res.end();
    } catch (error) {
      // The client went away while we waited for it to read: nothing left to answer.
      if (!gone.aborted) throw error;
    }
  }

  return (req, res) => {
    const started = process.hrtime.bigint();
    const requestId = requestIdFrom(req.headers[REQUEST_ID_HEADER.toLowerCase()]);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    // Read now: by 'finish' a client that went away has taken its socket.
    const ip = options.clientIp(req);
    let caller: ModelCaller | null = null;
    res.once('finish', () => logRequest(options.logger, { requestId, method: req.method, url: req.url, status: res.statusCode, started, userId: caller?.id, ip }));
    res.once('close', () =>
      observer.httpRequest({ method: req.method ?? 'GET', route: routeOf(req.url), status: res.writableFinished ? res.statusCode : 499, seconds: Number(process.hrtime.bigint() - started) / 1e9 }),
    );
    answer(req, res, (known) => (caller = known)).catch((error: unknown) => writeOpenAiError(res, error, options.logger, requestId));
  };
}

function writeJson(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** Aborted when the client's connection closes before the answer is complete. */
function clientGone(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}
