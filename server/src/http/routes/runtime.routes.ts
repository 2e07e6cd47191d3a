import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { requireUser } from '../../auth/guards';
import { contextOf } from '../../auth/request-context';
import { UnauthorizedError } from '../../errors/app-error';
import type { RuntimeEvents } from '../../services/runtime-events';
import type { RuntimeOwner, RuntimeService } from '../../services/runtime.service';
import type { SessionEvents } from '../../services/session-events';
import { parseInput } from '../../services/validate';
import { toRuntimeDto } from '../dto';
import { ownRuntime } from '../owners';

const logsQuery = z.strictObject({
  tail: z.coerce.number().int().min(1).max(10_000).default(200),
  follow: z.enum(['true', 'false', '1', '0']).default('false').transform((value) => value === 'true' || value === '1'),
});


/** A comment line this often keeps proxies from closing an idle stream. */
const KEEP_ALIVE_MS = 15_000;

/**
 * Streams the runtime's progress as server-sent events until the client goes away or the session
 * that opened it ends: first the current state, then each step of any operation. Subscribes before
 * reading the state, so no step that happens meanwhile is lost. A session ended in this process
 * (sign-out, user disabled or deleted, password changed) ends the stream at once; one ended
 * elsewhere (the admin CLI) or expired is found at the next keep-alive.
 */
export async function streamRuntimeEvents(events: RuntimeEvents, sessionEvents: SessionEvents, req: Request, res: Response, current: () => Promise<unknown>): Promise<void> {
  const user = req.user!;
  const early: unknown[] = [];
  let send = (event: unknown): void => {
    early.push(event);
  };
  let ended = false;
  let end = (): void => {
    ended = true;
  };
  const unsubscribe = events.subscribe(user.username, (event) => send(event));
  const unwatchSession = sessionEvents.onEnd({ userId: user.id, sessionId: req.sessionID }, () => end());
  let initial: unknown;
  try {
    initial = await current();
    if (ended) throw new UnauthorizedError();
  } catch (error) {
    unsubscribe();
    unwatchSession();
    throw error;
  }
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  res.write(`event: state\ndata: ${JSON.stringify(initial)}\n\n`);
  send = (event) => {
    res.write(`event: step\ndata: ${JSON.stringify(event)}\n\n`);
  };
  early.forEach(send);
  const keepAlive = setInterval(() => {
    req.sessionStore.get(req.sessionID, (error, session) => {
      if (!error && !session) end();
      else res.write(': keep-alive\n\n');
    });
  }, KEEP_ALIVE_MS);
  const stop = (): void => {
    clearInterval(keepAlive);
    unsubscribe();
    unwatchSession();
  };
  // The browser's EventSource reconnects, gets a 401 and gives up.
  end = () => {
    stop();
    res.end();
  };
  req.on('close', stop);
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
export function runtimeRoutes(runtimes: RuntimeService, events: RuntimeEvents, sessionEvents: SessionEvents): Router {
  const router = Router();
  router.use(requireUser);
  router.get('/events', (req, res) => streamRuntimeEvents(events, sessionEvents, req, res, async () => toRuntimeDto(await runtimes.status(ownRuntime(req)))));
  router.use(oneRuntimeRoutes(runtimes, ownRuntime));
  return router;
}
