import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { requireUser } from '../../auth/guards';
import { contextOf } from '../../auth/request-context';
import type { RuntimeEvents } from '../../services/runtime-events';
import type { RuntimeOwner, RuntimeService } from '../../services/runtime.service';
import { parseInput } from '../../services/validate';
import { toRuntimeDto } from '../dto';
import { ownRuntime } from '../owners';

const logsQuery = z.strictObject({
  tail: z.coerce.number().int().min(1).max(10_000).default(200),
  follow: z.enum(['true', 'false', '1', '0']).default('false').transform((value) => value === 'true' || value === '1'),
});


/**
 * Streams the runtime's progress as server-sent events until the client goes away: first the
 * current state, then each step of any operation. Subscribes before reading the state, so no
 * step that happens meanwhile is lost.
 */
export async function streamRuntimeEvents(events: RuntimeEvents, username: string, req: Request, res: Response, current: () => Promise<unknown>): Promise<void> {
  const early: unknown[] = [];
  let send = (event: unknown): void => {
    early.push(event);
  };
  const unsubscribe = events.subscribe(username, (event) => send(event));
  let initial: unknown;
  try {
    initial = await current();
  } catch (error) {
    unsubscribe();
    throw error;
  }
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  res.write(`event: state\ndata: ${JSON.stringify(initial)}\n\n`);
  send = (event) => {
    res.write(`event: step\ndata: ${JSON.stringify(event)}\n\n`);
  };
  early.forEach(send);
  // A comment line now and then keeps proxies from closing an idle stream.
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  req.on('close', () => {
    clearInterval(keepAlive);
    unsubscribe();
  });
}

/** Streams runtime logs as plain text. */
export async function sendRuntimeLogs(runtimes: RuntimeService, who: { id: number; username: string }, req: Request, res: Response): Promise<void> {
  const query = parseInput(logsQuery, { ...req.query });
  const stream = await runtimes.logs(who, query);
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache');
  req.on('close', () => stream.destroy());
  stream.pipe(res);
}

/** Status, start/stop/restart and logs of one runtime: the caller's own, or for admins anyone's. */
export function oneRuntimeRoutes(runtimes: RuntimeService, ownerOf: (req: Request) => RuntimeOwner): Router {
  const router = Router({ mergeParams: true });
  const actions = {
    start: (req: Request) => runtimes.start(contextOf(req), ownerOf(req)),
    stop: (req: Request) => runtimes.stop(contextOf(req), ownerOf(req)),
    restart: (req: Request) => runtimes.restart(contextOf(req), ownerOf(req)),
  };
  router.get('/', async (req, res) => {
    res.json({ runtime: toRuntimeDto(await runtimes.status(ownerOf(req))) });
  });
  for (const [name, act] of Object.entries(actions)) {
    router.post(`/${name}`, async (req, res) => {
      res.json({ runtime: toRuntimeDto(await act(req)) });
    });
  }
  router.get('/logs', (req, res) => sendRuntimeLogs(runtimes, ownerOf(req), req, res));
  return router;
}

/** The signed-in user's own runtime. */
export function runtimeRoutes(runtimes: RuntimeService, events: RuntimeEvents): Router {
  const router = Router();
  router.use(requireUser);
  router.get('/events', (req, res) => streamRuntimeEvents(events, req.user!.username, req, res, async () => toRuntimeDto(await runtimes.status(ownRuntime(req)))));
  router.use(oneRuntimeRoutes(runtimes, ownRuntime));
  return router;
}
