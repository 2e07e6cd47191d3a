/**
 * What the runtime origin asks the control plane.
 *
 * The forward-auth check, Traefik's forwardAuth target for every request to a runtime
 * (`/u/<username>/...`): Traefik passes the browser's headers (the session cookie among them) and
 * tells the original method and path in X-Forwarded-Method and X-Forwarded-Uri. A 2xx lets the
 * request through with the headers named in the middleware's authResponseHeaders copied onto it;
 * anything else goes back to the browser as it is.
 *
 * Both read the request in either layout of runtime addresses (runtime-visitor.ts). With per-user
 * subdomains, both also redeem the one-time sign-in code a runtime host is sent with (RUNTIME_SIGN_IN_PATH).
 *
 * The fallback, for whatever no runtime's route matched (traefik/dynamic.yml): a runtime that is
 * stopped or not made yet has no route, nor has a mistyped or another user's name once its runtime
 * is stopped. Traefik sends those here with the path replaced (so nothing else of /api is reachable
 * from the runtime origin) and the original in X-Replaced-Path.
 */
import { Router, type Request, type Response } from 'express';
import { AppError, NotFoundError, UnauthorizedError } from '../../errors/app-error';
import { runtimeOrigin } from '../../proxy/runtime-address';
import { AmbiguousPathError } from '../routed-path';
import { sendRuntimeOriginPage } from '../runtime-origin-pages';
import { readRuntimeRequest, redirectUncached as redirect, RETURNING_PARAM, runtimeHostCookie, RUNTIME_SIGN_IN_PATH, type RuntimeEntry, type RuntimeRequest } from '../runtime-visitor';
import type { RuntimeService } from '../../services/runtime.service';

/** The header OpenClaw's trusted-proxy auth reads the user from (openclaw-config.ts). */
export const IDENTITY_HEADER = 'X-Forwarded-User';
/** The platform's origin, where a runtime host's sign-in starts (runtime-sign-in.routes.ts). */
export const RUNTIME_SIGN_IN_ROUTE = '/api/auth/runtime-sign-in';
const RETRY_AFTER_SECONDS = '5';

/** The one value of a header Traefik sets once; two copies (which Node would join with ", ") are refused. */
function singleHeader(req: Request, name: string): string | undefined {
  const values = req.headersDistinct[name.toLowerCase()];
  if (values && values.length > 1) throw new AppError(400, 'duplicate_header', `The request carries ${name} more than once, so it is refused.`);
  return values?.[0];
}

/** A page load (not a script's fetch or a WebSocket): it can be sent somewhere else to wait. */
function isNavigation(req: Request, method: string): boolean {
  if (method !== 'GET' || req.get('Upgrade')) return false;
  return req.get('Sec-Fetch-Mode') === 'navigate' || (req.get('Accept') ?? '').includes('text/html');
}

/**
 * Sends a page load to the web UI, which signs in if needed, starts the runtime and comes back. The
 * web UI is on the platform's origin, the runtime on its own: the address is absolute.
 */
function sendToWebUi(res: Response, publicUrl: string, next: string): void {
  redirect(res, `${publicUrl}/?next=${encodeURIComponent(next)}`);
}

/** A request read as Traefik routed it; a page load that cannot be read gets a page saying so. */
function readTarget(req: Request, res: Response, uri: string, method: string, entry: RuntimeEntry): RuntimeRequest | null {
  try {
    return readRuntimeRequest(req, uri, entry);
  } catch (error) {
    if (!(error instanceof AmbiguousPathError) || !isNavigation(req, method)) throw error;
    sendRuntimeOriginPage(req, res, 'ambiguous', entry.publicUrl);
    return null;
  }
}

/** No runtime of the caller's there. A page load gets our page, a script our JSON error. */
function notFound(req: Request, res: Response, method: string, publicUrl: string): void {
  if (!isNavigation(req, method)) throw new NotFoundError('runtime');
  sendRuntimeOriginPage(req, res, 'not_found', publicUrl);
}

/**
 * Redeems a runtime host's one-time sign-in code (subdomain layout) for the host's own cookie, then
 * goes on to the page it was for. Returns false for any other request.
 */
function redeemSignIn(req: Request, res: Response, target: RuntimeRequest, method: string, entry: RuntimeEntry): boolean {
  if (entry.addressing.layout !== 'subdomain' || !target.username) return false;
  const url = new URL(target.rest, 'http://runtime.invalid');
  if (url.pathname !== RUNTIME_SIGN_IN_PATH) return false;
  const token = method === 'GET' ? entry.handoff.redeem(url.searchParams.get('code') ?? '', target.username) : null;
  if (!token) {
    if (!isNavigation(req, method)) throw new UnauthorizedError('This sign-in link has expired. Open your runtime from CrewClaw again.');
    sendRuntimeOriginPage(req, res, 'sign_in_expired', entry.publicUrl);
    return true;
  }
  // Only a path on this same host: never `//elsewhere` or `/\elsewhere`, which browsers read as another host.
  const next = url.searchParams.get('next') ?? '/';
  const safeNext = /^\/(?![/\\])/.test(next) ? next : '/';
  res.cookie(runtimeHostCookie(entry.addressing), token, {
    path: '/',
    maxAge: entry.sessionTtlMs,
    httpOnly: true,
    sameSite: 'lax',
    secure: entry.addressing.protocol === 'https:',
  });
  // Absolute: Traefik resolves a relative Location in a forward-auth answer against the check's own address.
  redirect(res, `${runtimeOrigin(entry.addressing, target.username)}${safeNext}`);
  return true;
}

/**
 * The owner of the runtime a request names, or null once an answer was sent: someone not signed in is
 * sent to sign in (a page load) or refused, and another user's runtime looks exactly like one that
 * does not exist.
 */
function ownerOf(req: Request, res: Response, target: RuntimeRequest, method: string, entry: RuntimeEntry): { id: number; username: string } | null {
  if (!target.username) {
    notFound(req, res, method, entry.publicUrl);
    return null;
  }
  if (!target.visitor) {
    if (!isNavigation(req, method)) throw new UnauthorizedError('Sign in to CrewClaw to reach your runtime.');
    // With per-user subdomains the platform may well be signed in: only this host is not yet.
    if (entry.addressing.layout === 'subdomain') redirect(res, `${entry.publicUrl}${RUNTIME_SIGN_IN_ROUTE}?next=${encodeURIComponent(target.next)}&${RETURNING_PARAM}=1`);
    else sendToWebUi(res, entry.publicUrl, target.next);
    return null;
  }
  if (target.visitor.username !== target.username) {
    notFound(req, res, method, entry.publicUrl);
    return null;
  }
  return target.visitor;
}

const startingError = () =>
  new AppError(503, 'runtime_starting', 'Your runtime is starting. Try again in a few seconds.', { headers: { 'Retry-After': RETRY_AFTER_SECONDS } });

export function forwardAuthRoutes(runtimes: RuntimeService, entry: RuntimeEntry): Router {
  const router = Router();
  router.get('/', async (req, res) => {
    const method = singleHeader(req, 'X-Forwarded-Method') ?? 'GET';
    const target = readTarget(req, res, singleHeader(req, 'X-Forwarded-Uri') ?? '', method, entry);
    if (!target || redeemSignIn(req, res, target, method, entry)) return;
    const owner = ownerOf(req, res, target, method, entry);
    if (!owner) return;
    if ((await runtimes.access(target.context, owner)) === 'ready') {
      res.setHeader(IDENTITY_HEADER, owner.username);
      res.setHeader('Cache-Control', 'no-store');
      return res.status(200).end();
    }
    if (isNavigation(req, method)) return sendToWebUi(res, entry.publicUrl, target.next);
    throw startingError();
  });
  return router;
}

/**
 * The runtime origin's fallback. It never starts a runtime by itself: the Control UI of a runtime
 * that was stopped for being idle keeps retrying its WebSocket, and that must not wake it. A page
 * load goes to the web UI, which starts the runtime with its progress shown and comes back.
 */
export function runtimeFallbackRoutes(runtimes: RuntimeService, entry: RuntimeEntry): Router {
  const router = Router();
  router.all('/', async (req, res) => {
    const method = req.method;
    const original = singleHeader(req, 'X-Replaced-Path') ?? '/';
    const queryAt = req.originalUrl.indexOf('?');
    const query = queryAt === -1 ? '' : req.originalUrl.slice(queryAt);
    const target = readTarget(req, res, original + query, method, entry);
    if (!target || redeemSignIn(req, res, target, method, entry)) return;
    // An address that names no runtime's root (the bare runtime origin, typed in): the platform is where to go.
    if (!target.username && original === '/' && isNavigation(req, method)) return redirect(res, `${entry.publicUrl}/`);
    const owner = ownerOf(req, res, target, method, entry);
    if (!owner) return;
    const { state } = await runtimes.status(owner);
    if (isNavigation(req, method)) {
      // Running, but Traefik has not routed it yet (it picks up a started container within about two seconds).
      if (state === 'running') return sendRuntimeOriginPage(req, res, 'opening', entry.publicUrl);
      return sendToWebUi(res, entry.publicUrl, target.next);
    }
    if (state === 'running' || state === 'starting') throw startingError();
    throw new AppError(503, 'runtime_not_running', 'Your runtime is not running. Start it from CrewClaw.', { headers: { 'Retry-After': RETRY_AFTER_SECONDS } });
  });
  return router;
}
