/**
 * The model endpoint runtimes call (RUNTIME_MODEL_BASE_URL, openclaw-config.ts): OpenAI-compatible
 * `GET /v1/models` and `POST /v1/chat/completions`, authenticated by the runtime's token. The work is in
 * models/model-gateway.service.ts; here the request is read and the answer written, a stream event by
 * event as it comes (no buffering), and the upstream call is cancelled when the client goes away.
 */
import { once } from 'node:events';
import express, { Router, type Response } from 'express';
import type { ModelCaller, ModelGateway } from '../../models/model-gateway.service';

/** Aborted when the client's connection closes before the answer is complete. */
function clientGone(res: Response): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}

const callerOf = (res: Response) => res.locals.caller as ModelCaller;

export function modelGatewayRoutes(gateway: ModelGateway, bodyLimitBytes: number): Router {
  const router = Router();
  // Who calls, before a body of up to bodyLimitBytes is read for them.
  router.use((req, res, next) => {
    res.locals.caller = gateway.authenticate(req.get('authorization'));
    next();
  });
  router.use(express.json({ limit: bodyLimitBytes, type: () => true }));

  router.get('/models', (_req, res) => {
    res.json(gateway.listModels(callerOf(res)));
  });

  router.post('/chat/completions', async (req, res) => {
    const caller = callerOf(res);
    const gone = clientGone(res);
    const answer = await gateway.chat(caller, req.body, gone);
    if (answer.kind === 'json') return void res.status(answer.status).type('application/json').send(answer.body);
    res.status(answer.status);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    try {
      for await (const event of answer.events) {
        // A client reading slower than the model writes: wait for it rather than hold the rest in memory.
        if (!res.write(event)) await once(res, 'drain', { signal: gone });
      }
      res.end();
    } catch (error) {
      // The client went away while we waited for it to read: nothing left to answer.
      if (!gone.aborted) throw error;
    }
  });
  return router;
}
