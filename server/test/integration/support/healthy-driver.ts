/**
 * A memory driver whose runtimes really start: their gateway is a local stand-in that answers /healthz,
 * so the platform's start (which waits for a healthy gateway) completes as it does with Docker.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryDriver } from '../../../src/runtimes/memory-driver';
import { PLATFORM_CONFIG_ENV } from '../../../src/runtimes/openclaw-config';

export class HealthyDriver extends MemoryDriver {
  constructor(private readonly gateway: { host: string; port: number }) {
    super();
  }

  override async start(username: string): Promise<void> {
    await super.start(username);
    const container = this.containers.get(username);
    if (container?.status === 'running') Object.assign(container, { address: { ...this.gateway } });
  }

  /** The model token the platform gave `username`'s runtime (in its OpenClaw settings), as OpenClaw would send it. */
  modelToken(username: string): string {
    const env = this.containers.get(username)?.env ?? {};
    const config = JSON.parse(env[PLATFORM_CONFIG_ENV] ?? '{}') as { models?: { providers?: Record<string, { apiKey?: string }> } };
    return Object.values(config.models?.providers ?? {})[0]?.apiKey ?? '';
  }
}

/** A stand-in gateway answering /healthz, and a HealthyDriver whose runtimes use it. */
export async function startHealthyDriver(): Promise<{ driver: HealthyDriver; close(): Promise<void> }> {
  const gateway = http.createServer((_req, res) => res.setHeader('Content-Type', 'application/json').end('{"ok":true,"status":"live"}'));
  await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
  const { port } = gateway.address() as AddressInfo;
  return { driver: new HealthyDriver({ host: '127.0.0.1', port }), close: () => new Promise((resolve) => gateway.close(() => resolve())) };
}
