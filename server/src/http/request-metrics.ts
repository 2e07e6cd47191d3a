/**
 * Every request into the HTTP metrics: method, route pattern, status and duration. The route is the
 * pattern that answered (`/api/users/:id`), never the URL, so there are as many series as routes and
 * not one per user, file or id; a request no route answered is `static` (the web UI's files) or
 * `unmatched` (an unknown API path).
 */
import type { Request, RequestHandler } from 'express';
import type { HttpObserver } from '../metrics/observers';

/** nginx's "client closed request": the client left before the answer was complete. */
const CLIENT_GONE = 499;

const decode = (segment: string) => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
};

/**
 * The pattern of the route just matched. Express gives a route's own path (`/:id`) but its routers'
 * mount paths only as matched (`/api/admin/files/alice`): the mount's parameters are put back in by
 * value, from the last segment on.
 */
function patternOf(req: Request, routePath: unknown): string {
  const segments = req.baseUrl.split('/');
  for (const [name, value] of Object.entries((req.params ?? {}) as Record<string, unknown>)) {
    const at = segments.findLastIndex((segment) => !segment.startsWith(':') && decode(segment) === value);
    if (at > 0) segments[at] = `:${name}`;
  }
  // Express matches paths whatever their case: `/API/health` is `/api/health`, not a series of its own.
  const pattern = segments.map((segment) => (segment.startsWith(':') ? segment : segment.toLowerCase())).join('/') + (typeof routePath === 'string' ? routePath : '/*');
  return pattern.length > 1 ? pattern.replace(/\/$/, '') : pattern;
}

export function requestMetrics(observer: HttpObserver): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    let route: unknown;
    let pattern: string | null = null;
    // Read when Express sets req.route: by the time the answer is out, an error on its way to the error
    // handler has put req.baseUrl and req.params back to the app's, and the route's place is lost.
    Object.defineProperty(req, 'route', {
      configurable: true,
      enumerable: true,
      get: () => route,
      set: (value: { path?: unknown } | undefined) => {
        route = value;
        if (value) pattern = patternOf(req, value.path);
      },
    });
    res.once('close', () => {
      observer.httpRequest({
        method: req.method,
        route: pattern ?? (req.originalUrl.startsWith('/api') ? 'unmatched' : 'static'),
        status: res.writableFinished ? res.statusCode : CLIENT_GONE,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
      });
    });
    next();
  };
}
