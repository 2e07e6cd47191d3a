/**
 * A request from a runtime's own network (RUNTIME_SUBNET_POOL: the control plane is joined to each user's
 * network so that runtimes reach the model endpoint) may ask for the model endpoint (/v1) and nothing
 * else: not the web UI, not /api. An agent that can run code must not be able to try the platform's API
 * from the inside, where no browser protection stands in the way.
 *
 * Traefik sits on every one of those networks too, at each /28's .2 (runtimes/runtime-names.ts), and may
 * reach the control plane through one of them (its `control-plane` alias is on all of them): that address
 * is the proxy's and keeps the whole API.
 */
import { BlockList, isIPv4 } from 'node:net';
import type { RequestHandler } from 'express';
import { NotFoundError } from '../errors/app-error';

/** The proxy's offset in every user's /28 (subnetPlan's `proxy`). */
const PROXY_OFFSET = 2;

const lastOctet = (ipv4: string) => Number(ipv4.slice(ipv4.lastIndexOf('.') + 1));

export function onlyModelsFromRuntimeNetworks(subnetPool: string): RequestHandler {
  const [network, prefix] = subnetPool.split('/');
  const runtimeNetworks = new BlockList();
  runtimeNetworks.addSubnet(network ?? '', Number(prefix), 'ipv4');
  return (req, _res, next) => {
    // The connection's own peer: a runtime cannot claim another address through a header.
    const peer = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const fromRuntimeNetwork = isIPv4(peer) && runtimeNetworks.check(peer, 'ipv4') && lastOctet(peer) % 16 !== PROXY_OFFSET;
    if (fromRuntimeNetwork && req.path !== '/v1' && !req.path.startsWith('/v1/')) throw new NotFoundError('route');
    next();
  };
}
