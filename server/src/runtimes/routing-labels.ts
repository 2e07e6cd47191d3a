/**
 * Traefik v3 labels that route /u/<user> to the user's runtime, behind the
 * platform's forward-auth check (the middleware is declared once, in Traefik's
 * file provider). `Path || PathPrefix(/u/<user>/)` so that /u/al never catches /u/alice.
 */
import { GATEWAY_PORT, runtimeNames } from './runtime-names';

export const FORWARD_AUTH_MIDDLEWARE = 'crewclaw-auth@file';

export function routingLabels(prefix: string, username: string): Record<string, string> {
  const { container, network } = runtimeNames(prefix, username);
  const router = `traefik.http.routers.${container}`;
  return {
    'traefik.enable': 'true',
    'traefik.docker.network': network,
    [`${router}.rule`]: `Path(\`/u/${username}\`) || PathPrefix(\`/u/${username}/\`)`,
    [`${router}.entrypoints`]: 'web',
    [`${router}.middlewares`]: FORWARD_AUTH_MIDDLEWARE,
    [`${router}.service`]: container,
    [`traefik.http.services.${container}.loadbalancer.server.port`]: String(GATEWAY_PORT),
  };
}
