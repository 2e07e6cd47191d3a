/**
 * A request from a runtime's own network (RUNTIME_SUBNET_POOL: the control plane is joined to each user's
 * network so that runtimes reach the model endpoint) may ask for the model endpoint (/v1, answered before
 * Express: model-endpoint.ts) and nothing else: not the web UI, not /api, so whatever of theirs reaches
 * this is refused. An agent that can run code must not be able to try the platform's API from the inside,
 * where no browser protection stands in the way.
 *
 * The client is judged, not the last hop: Traefik sits on every one of those networks too (at each /28's
 * .2), so a runtime can also reach the platform through Traefik's entrypoints. Express's `req.ip` is the
 * address Traefik reports for such a request (trust proxy believes only Traefik), and the connection's
 * own peer for everyone else, so neither way in is open, and no header a runtime sends can change it.
 */
import { BlockList, isIPv4 } from 'node:net';
import type { RequestHandler } from 'express';
import { NotFoundError } from '../errors/app-error';

export function refuseRuntimeNetworks(subnetPool: string): RequestHandler {
  const [network, prefix] = subnetPool.split('/');
  const runtimeNetworks = new BlockList();
  runtimeNetworks.addSubnet(network ?? '', Number(prefix), 'ipv4');
  return (req, _res, next) => {
    const client = (req.ip ?? '').replace(/^::ffff:/, '');
    const fromRuntimeNetwork = isIPv4(client) && runtimeNetworks.check(client, 'ipv4');
    if (fromRuntimeNetwork) throw new NotFoundError('route');
    next();
  };
}
