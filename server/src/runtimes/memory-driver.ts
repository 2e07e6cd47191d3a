/**
 * A RuntimeDriver that keeps containers in memory, for fast unit tests of the
 * runtime service (as Coder keeps an echo provisioner beside Terraform). It
 * follows the same state rules as the Docker driver; tests steer it: make an
 * image crash on start, or be slow to become healthy.
 */
import { Readable } from 'node:stream';
import {
  DriverUnavailableError,
  LimitsRefusedError,
  type ContainerEvent,
  type ContainerWatch,
  type ExecOptions,
  type ExecProcess,
  type LogOptions,
  type PeerContainer,
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
  /** Memory limits under this many bytes are refused, as the kernel refuses one under current use. */
  memoryInUseBytes = 0;
  private nextId = 1;
  private readonly watchers = new Set<ContainerWatch>();

  private emit(username: string, action: ContainerEvent['action'], exitCode: number | null = null): void {
    const container = this.containers.get(username);
    const event = { username, containerId: container?.id ?? 'gone', action, exitCode, at: new Date() };
    for (const watcher of this.watchers) watcher.onEvent(event);
  }

  /**
   * What happens behind the platform's back: the container's process dies with `exitCode` (after an
   * out-of-memory kill when `oom`); the restart policy brings it back when `restarts`, as Docker does
   * for a crash but not for `docker kill`.
   */
  crash(username: string, exitCode: number, options: { oom?: boolean; restarts?: boolean } = {}): void {
    const container = this.containers.get(username);
    if (!container) return;
    if (options.oom) this.emit(username, 'oom');
    Object.assign(container, { status: options.restarts ? 'restarting' : 'exited', exitCode, oomKilled: options.oom ?? false, startedAt: null, address: null });
    this.emit(username, 'die', exitCode);
    if (options.restarts) {
      Object.assign(container, { status: 'running', exitCode: null, restartCount: container.restartCount + 1, startedAt: new Date(), address: { host: `mem-${username}`, port: GATEWAY_PORT } });
      this.emit(username, 'start');
    }
  }

  /** `docker rm -f` behind the platform's back. */
  destroy(username: string): void {
    if (!this.containers.has(username)) return;
    const running = this.containers.get(username)!.status === 'running';
    if (running) this.emit(username, 'die', 137);
    this.emit(username, 'destroy');
    this.containers.delete(username);
  }

  /** Tells the watchers the stream came back (events meanwhile were lost). */
  reconnect(): void {
    for (const watcher of this.watchers) watcher.onConnected();
  }

  watch(watcher: ContainerWatch): () => void {
    this.watchers.add(watcher);
    watcher.onConnected();
    return () => this.watchers.delete(watcher);
  }

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
    this.emit(username, 'start');
    if (exitCode !== undefined) this.emit(username, 'die', exitCode);
    return Promise.resolve();
  }

  connectPeers(username: string): Promise<void> {
    this.check();
    this.peerConnections.push(username);
    return Promise.resolve();
  }

  /** Shared containers the tests pretend run, by name. */
  readonly peers = new Map<string, PeerContainer>();

  /** Peers restarted by name, in order. */
  readonly peerRestarts: string[] = [];

  restartPeer(container: string): Promise<void> {
    this.peerRestarts.push(container);
    return Promise.resolve();
  }

  peer(container: string): Promise<PeerContainer | null> {
    this.check();
    return Promise.resolve(this.peers.get(container) ?? null);
  }

  updateLimits(username: string, limits: RuntimeLimits): Promise<void> {
    this.check();
    const container = this.containers.get(username);
    if (container?.status === 'running' && limits.memoryBytes < this.memoryInUseBytes) {
      return Promise.reject(new LimitsRefusedError(`unable to set memory limit to ${limits.memoryBytes} (current usage: ${this.memoryInUseBytes}, peak usage: ${this.memoryInUseBytes})`));
    }
    if (container) container.limits = limits;
    return Promise.resolve();
  }

  stop(username: string): Promise<void> {
    this.check();
    const container = this.containers.get(username);
    if (container?.status === 'running') {
      Object.assign(container, { status: 'exited', exitCode: 143, startedAt: null, address: null });
      // Delivered a moment later, as Docker's stream does: after the stop call has returned.
      setImmediate(() => this.emit(username, 'die', 143));
    }
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

  /** Open proxy connections per user, as a test sets them (a Control UI's WebSocket). */
  readonly clientConnectionCounts = new Map<string, number>();

  clientConnections(username: string): Promise<number> {
    this.check();
    return Promise.resolve(this.containers.get(username)?.status === 'running' ? (this.clientConnectionCounts.get(username) ?? 0) : 0);
  }

  exec(_username: string, _command: string[], _options: ExecOptions): Promise<ExecProcess> {
    this.check();
    // Files are tested against real containers (server/test/docker) and the tool on its own (files/).
    return Promise.reject(new Error('the in-memory driver runs no processes'));
  }
}
