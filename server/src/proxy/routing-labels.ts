/**
 * Traefik v3 labels that route a user's runtime address (runtime-address.ts) to their runtime, behind
 * the platform's forward-auth check and the runtime headers middleware, both declared once in
 * Traefik's file provider (traefik/dynamic.yml). In the path layout: /u/<user> on the runtime
 * entrypoint, `Path || PathPrefix(/u/<user>/)` so that /u/al never catches /u/alice. In the subdomain
 * layout: the user's host on the runtime entrypoint and the platform's (RUNTIME_URL may name either port).
 */
import { GATEWAY_PORT, runtimeNames } from '../runtimes/runtime-names';
import { runtimeOrigin, type RuntimeAddressing } from './runtime-address';

/** The entrypoint of the runtime origin: runtimes are never routed on the platform's own. */
export const RUNTIME_ENTRYPOINT = 'runtimes';
/** The platform's entrypoints (compose.yaml): plain HTTP, and HTTPS when CREWCLAW_TLS is on. */
const PLATFORM_ENTRYPOINT = { plain: 'web', tls: 'websecure' } as const;
/** Asks the control plane before every request (forward-auth.routes.ts). */
export const FORWARD_AUTH_MIDDLEWARE = 'crewclaw-auth@file';
/** Keeps the platform's cookies away from runtimes, and runtimes' cookies away from the browser. */
export const RUNTIME_HEADERS_MIDDLEWARE = 'crewclaw-runtime-headers@file';
/**
 * Traefik routes only containers that carry this label (its Docker provider's constraint in
 * compose.yaml): a runtime made by an older version, labelled for the platform's own origin, is
 * never served there; its next start makes it again with these labels.
 */
export const ROUTING_LAYOUT_LABEL = 'org.crewclaw.routing';
export const ROUTING_LAYOUT = 'runtime-origin';

/**
 * `tls`: the runtime origin is https (CREWCLAW_TLS on). Its certificate is in Traefik's store already,
 * asked for by the runtime origin's fallback router (traefik/dynamic.yml), and found by name.
 */
export function routingLabels(prefix: string, username: string, { tls, addressing }: { tls: boolean; addressing: RuntimeAddressing }): Record<string, string> {
  const { container, network } = runtimeNames(prefix, username);
  const router = `traefik.http.routers.${container}`;
  const byHost = addressing.layout === 'subdomain';
  return {
    'traefik.enable': 'true',
    [ROUTING_LAYOUT_LABEL]: ROUTING_LAYOUT,
    'traefik.docker.network': network,
    [`${router}.rule`]: byHost ? `Host(\`${new URL(runtimeOrigin(addressing, username)).hostname}\`)` : `Path(\`/u/${username}\`) || PathPrefix(\`/u/${username}/\`)`,
    [`${router}.entrypoints`]: byHost ? `${RUNTIME_ENTRYPOINT},${tls ? PLATFORM_ENTRYPOINT.tls : PLATFORM_ENTRYPOINT.plain}` : RUNTIME_ENTRYPOINT,
    // In this order: the check reads the session cookie, which the headers middleware then removes.
    [`${router}.middlewares`]: `${FORWARD_AUTH_MIDDLEWARE},${RUNTIME_HEADERS_MIDDLEWARE}`,
    [`${router}.service`]: container,
    [`traefik.http.services.${container}.loadbalancer.server.port`]: String(GATEWAY_PORT),
    ...(tls ? { [`${router}.tls`]: 'true' } : {}),
  };
}
