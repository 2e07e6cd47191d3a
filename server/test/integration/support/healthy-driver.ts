/**
 * A memory driver whose runtimes really start: their gateway is a local stand-in that answers /healthz,
 * so the platform's start (which waits for a healthy gateway) completes as it does with Docker.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { MemoryDriver } from '../../../src/runtimes/memory-driver';
import type { ExecOptions, ExecProcess } from '../../../src/runtimes/runtime-driver';
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

  /** Commands run in running runtimes, with what they were given on stdin; each "succeeds". */
  readonly execs: { username: string; command: string[]; stdin: string }[] = [];

  override exec(username: string, command: string[], options: ExecOptions): Promise<ExecProcess> {
    if (this.containers.get(username)?.status !== 'running') return super.exec(username, command, options);
    const record = { username, command, stdin: '' };
    this.execs.push(record);
    const stdin = options.stdin ? new PassThrough() : null;
    const stdout = new PassThrough();
    const exit = new Promise<{ code: number; stderr: string }>((resolve) => {
      if (!stdin) return resolve({ code: 0, stderr: '' });
      stdin.on('data', (chunk: Buffer) => (record.stdin += chunk.toString('utf8')));
      stdin.on('end', () => {
        stdout.end();
        resolve({ code: 0, stderr: '' });
      });
    });
    if (!stdin) stdout.end();
    return Promise.resolve({ stdin, stdout, exit, abort: () => stdout.destroy() });
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
