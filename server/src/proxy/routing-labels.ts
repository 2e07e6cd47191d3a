/**
 * Traefik v3 labels that route /u/<user> to the user's runtime on the runtime entrypoint (the runtime
 * origin, RUNTIME_URL), behind the platform's forward-auth check and the runtime headers middleware,
 * both declared once in Traefik's file provider (traefik/dynamic.yml). `Path || PathPrefix(/u/<user>/)`
 * so that /u/al never catches /u/alice.
 */
import { GATEWAY_PORT, runtimeNames } from '../runtimes/runtime-names';

/** The entrypoint of the runtime origin: runtimes are never routed on the platform's own. */
export const RUNTIME_ENTRYPOINT = 'runtimes';
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
export function routingLabels(prefix: string, username: string, { tls }: { tls: boolean }): Record<string, string> {
  const { container, network } = runtimeNames(prefix, username);
  const router = `traefik.http.routers.${container}`;
  return {
    'traefik.enable': 'true',
    [ROUTING_LAYOUT_LABEL]: ROUTING_LAYOUT,
    'traefik.docker.network': network,
    [`${router}.rule`]: `Path(\`/u/${username}\`) || PathPrefix(\`/u/${username}/\`)`,
    [`${router}.entrypoints`]: RUNTIME_ENTRYPOINT,
    // In this order: the check reads the session cookie, which the headers middleware then removes.
    [`${router}.middlewares`]: `${FORWARD_AUTH_MIDDLEWARE},${RUNTIME_HEADERS_MIDDLEWARE}`,
    [`${router}.service`]: container,
    [`traefik.http.services.${container}.loadbalancer.server.port`]: String(GATEWAY_PORT),
    ...(tls ? { [`${router}.tls`]: 'true' } : {}),
  };
}
