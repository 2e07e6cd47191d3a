/**
 * A RuntimeDriver that keeps containers in memory, for fast unit tests of the
 * runtime service (as Coder keeps an echo provisioner beside Terraform). It
 * follows the same state rules as the Docker driver; tests steer it: make an
 * image crash on start, or be slow to become healthy.
 */
import { Readable } from 'node:stream';
import {
  DriverUnavailableError,
  type ExecProcess,
  type LogOptions,
  type RuntimeContainer,
  type RuntimeDriver,
  type RuntimeLimits,
  type RuntimeSpec,
  type RuntimeUsage,
} from './runtime-driver';
import { GATEWAY_PORT } from './runtime-names';

export class MemoryDriver implements RuntimeDriver {
  readonly containers = new Map<string, RuntimeContainer & { env: Record<string, string>; limits: RuntimeLimits }>();
  /** Users whose shared peers were (re-)connected, in order. */
  readonly peerConnections: string[] = [];
  readonly volumes = new Set<string>();
  /** Images whose gateway exits at once with this code. */
  readonly crashingImages = new Map<string, number>();
  available = true;
  createCalls = 0;
  private nextId = 1;

  private check(): void {
    if (!this.available) throw new DriverUnavailableError('ECONNREFUSED');
  }

  ping(): Promise<void> {
    this.check();
    return Promise.resolve();
  }

  find(username: string): Promise<RuntimeContainer | null> {
    this.check();
    const container = this.containers.get(username);
    return Promise.resolve(container ? { ...container } : null);
  }

  list(): Promise<RuntimeContainer[]> {
    this.check();
    return Promise.resolve([...this.containers.values()].map((container) => ({ ...container })));
  }

  async create(spec: RuntimeSpec): Promise<RuntimeContainer> {
    this.check();
    this.createCalls += 1;
    // Yield like a real engine does, so concurrent callers really interleave.
    await new Promise((resolve) => setImmediate(resolve));
    if (this.containers.has(spec.username)) throw Object.assign(new Error('Conflict: container name in use'), { statusCode: 409 });
    this.volumes.add(spec.username);
    const container = {
      username: spec.username,
      id: `mem-${this.nextId++}`,
      image: spec.image,
      status: 'created' as const,
      startedAt: null,
      exitCode: null,
      oomKilled: false,
      restartCount: 0,
      health: 'none' as const,
      address: null,
      specHash: spec.specHash,
      env: spec.env,
      limits: spec.limits,
    };
    this.containers.set(spec.username, container);
    return { ...container };
  }

  start(username: string): Promise<void> {
    this.check();
    const container = this.containers.get(username);
    if (!container) return Promise.reject(Object.assign(new Error('No such container'), { statusCode: 404 }));
    const exitCode = this.crashingImages.get(container.image);
    if (exitCode !== undefined) Object.assign(container, { status: 'exited', exitCode, startedAt: null, address: null });
    else Object.assign(container, { status: 'running', exitCode: null, startedAt: new Date(), address: { host: `mem-${username}`, port: GATEWAY_PORT } });
    return Promise.resolve();
  }

  connectPeers(username: string): Promise<void> {
    this.check();
    this.peerConnections.push(username);
    return Promise.resolve();
  }

  updateLimits(username: string, limits: RuntimeLimits): Promise<void> {
    this.check();
    const container = this.containers.get(username);
    if (container) container.limits = limits;
    return Promise.resolve();
  }

  stop(username: string): Promise<void> {
    this.check();
    const container = this.containers.get(username);
    if (container) Object.assign(container, { status: 'exited', exitCode: 0, startedAt: null, address: null });
    return Promise.resolve();
  }

  removeContainer(username: string): Promise<void> {
    this.check();
    this.containers.delete(username);
    return Promise.resolve();
  }

  remove(username: string, options: { purgeVolume: boolean }): Promise<void> {
    this.check();
    this.containers.delete(username);
    if (options.purgeVolume) this.volumes.delete(username);
    return Promise.resolve();
  }

  volumeExists(username: string): Promise<boolean> {
    this.check();
    return Promise.resolve(this.volumes.has(username));
  }

  logs(username: string, _options: LogOptions): Promise<Readable> {
    this.check();
    const container = this.containers.get(username);
    return Promise.resolve(Readable.from([`gateway of ${username} on ${container?.image ?? '?'}\n`, 'apiKey: "ccrt_secret_value_here"\n']));
  }

  usage(username: string): Promise<RuntimeUsage | null> {
    this.check();
    const container = this.containers.get(username);
    return Promise.resolve(container?.status === 'running' ? { memoryBytes: 600 * 2 ** 20, memoryLimitBytes: container.limits.memoryBytes, cpuPercent: 1 } : null);
  }

  exec(): Promise<ExecProcess> {
    this.check();
    // Files are tested against real containers (server/test/docker) and the tool on its own (files/).
    return Promise.reject(new Error('the in-memory driver runs no processes'));
  }
}
