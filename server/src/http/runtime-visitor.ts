/**
 * What a request on a runtime's address asks for and who asks, in either layout (proxy/runtime-address.ts):
 * which user's runtime, the path inside it, and the signed-in visitor. In the path layout the runtime is
 * named by the path and the visitor is the platform session's user (its cookie reaches the runtime
 * origin: same host name, another port). With per-user subdomains the host names the runtime, and the
 * visitor comes from the runtime host's own cookie (services/runtime-handoff.ts).
 */
import type { Request, Response } from 'express';
import type { RequestContext } from '../services/request-context';
import type { RuntimeHandoff } from '../services/runtime-handoff';
import { contextOf } from '../auth/request-context';
import { hostLabel, type RuntimeAddressing } from '../proxy/runtime-address';
import { usernameSchema } from '../services/user.schemas';
import { insideRuntime, routedPath } from './routed-path';

/**
 * The runtime host's own cookie (subdomain layout). Never reaches the runtime: Traefik drops Cookie after
 * the check. Over https with the `__Host-` prefix, so that no sibling host can set one for it.
 */
export function runtimeHostCookie(addressing: RuntimeAddressing): string {
  return addressing.layout === 'subdomain' && addressing.protocol === 'https:' ? '__Host-crewclaw.runtime' : 'crewclaw.runtime';
}
/** Where a runtime host redeems a sign-in code; OpenClaw's own paths are elsewhere (its assets, `/__openclaw__/`). */
export const RUNTIME_SIGN_IN_PATH = '/__crewclaw/sign-in';
/** Marks a trip to the platform's sign-in step that a runtime host started (not the web UI). */
export const RETURNING_PARAM = 'returning';

export interface RuntimeEntry {
  publicUrl: string;
  addressing: RuntimeAddressing;
  handoff: RuntimeHandoff;
  /** How long a runtime host's cookie is kept: the platform session's lifetime. */
  sessionTtlMs: number;
}

export interface RuntimeRequest {
  /** Whose runtime the address names, null for none. */
  username: string | null;
  /** The path inside the runtime, query kept (`/chat?x`), as the runtime sees it in either layout. */
  rest: string;
  /** The same place as the web UI names it in its `?next=`, in either layout: `/u/<user><rest>`. */
  next: string;
  visitor: { id: number; username: string } | null;
  context: RequestContext;
}

/** A redirect never cached: where it goes depends on who asks and on the runtime's state. */
export function redirectUncached(res: Response, location: string): void {
  res.setHeader('Cache-Control', 'no-store');
  res.redirect(302, location);
}

/** The values of one cookie, each copy the browser sent (a sibling host may have added its own). */
export function cookieValues(header: string | undefined, name: string): string[] {
  if (!header) return [];
  return header
    .split(';')
    .map((pair) => pair.trim())
    .filter((pair) => pair.startsWith(`${name}=`))
    .map((pair) => pair.slice(name.length + 1))
    .filter(Boolean);
}

/**
 * The host the browser asked for: Express reads X-Forwarded-Host only from a trusted proxy (Traefik,
 * which sets it to the host it routed on), else Host. Fails closed: an untrusted peer names no runtime.
 */
function requestedHost(req: Request): string | undefined {
  return req.host;
}

/** Reads a request for `uri` (the original path and query) on a runtime's address. Throws AmbiguousPathError. */
export function readRuntimeRequest(req: Request, uri: string, entry: RuntimeEntry): RuntimeRequest {
  if (entry.addressing.layout === 'path') {
    const { username, path } = routedPath(uri);
    const rest = username ? insideRuntime(path, username) : path;
    const visitor = req.user ? { id: req.user.id, username: req.user.username } : null;
    return { username, rest, next: username ? path : rest, visitor, context: contextOf(req) };
  }
  const label = hostLabel(entry.addressing, requestedHost(req));
  const username = label && usernameSchema.safeParse(label).success ? label : null;
  // The path names nothing here (the host does): it is read only to pass it on cleaned, as Traefik did.
  const { path: rest } = routedPath(uri);
  const found = username ? entry.handoff.visitor(cookieValues(req.headers.cookie, runtimeHostCookie(entry.addressing)), username) : null;
  const visitor = found ? { id: found.id, username: found.username } : null;
  const context: RequestContext = { ...contextOf(req), actor: found ? { id: found.id, username: found.username, role: found.role } : null, sessionId: found?.sessionId };
  return { username, rest, next: username ? `/u/${username}${rest}` : rest, visitor, context };
}
