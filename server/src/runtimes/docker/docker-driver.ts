/**
 * The Docker implementation of RuntimeDriver: the only module that imports
 * dockerode. Every call goes through `call()`, which turns a daemon that is not
 * there into DriverUnavailableError; Docker's status codes are handled where
 * they mean something (404 on remove = already gone, 304 on start/stop = already
 * there, 409 on remove = removal already in progress), as in DockerSpawner.
 *
 * Networks. Each runtime sits on two bridges: its user's network <prefix>-net-<user> (a /28 at
 * fixed addresses, where the control plane and Traefik reach it) and the shared <prefix>-egress
 * (its way to the internet). Docker 20.10 gives a container on several networks its default route,
 * and moves its published ports (docker-proxy), to the first network with a gateway in an order
 * that falls back to the networks' names; so a shared container (control plane, Traefik) joined to
 * an ordinary user network could lose its routes to any user whose name sorts early, cutting every
 * connection in flight. User networks are therefore internal (no gateway, never anyone's default
 * route, whatever their name), and shared containers never join one that is not. The egress bridge
 * is joined by runtimes only, with inter-container traffic off, so runtimes cannot reach each other
 * there either.
 */
import { PassThrough, type Readable } from 'node:stream';
import Docker from 'dockerode';
import {
  DriverUnavailableError,
  LimitsRefusedError,
  SubnetTakenError,
  type ContainerEvent,
  type ContainerWatch,
  type ContainerStatus,
  type ExecOptions,
  type ExecProcess,
  type LogOptions,
  type PeerContainer,
  type RuntimeContainer,
  type RuntimeDriver,
  type RuntimeLimits,
  type RuntimeSpec,
  type RuntimeUsage,
} from '../runtime-driver';
import { GATEWAY_PORT, LABELS, STATE_DIR, egressNetworkName, runtimeNames, subnetPlan } from '../runtime-names';
import { ExecOutputDemuxer } from './exec-stream';
import { countEstablished } from './open-connections';

export interface DockerDriverOptions {
  socketPath: string;
  /** Prefix of every name and the value of the platform label: separates installations and tests. */
  prefix: string;
  subnetPool: string;
  /** Labels added to everything created (tests mark their resources with one). */
  extraLabels?: Record<string, string>;
  /**
   * The control plane's own container, when it runs in one: it joins every user network at the
   * plan's .3 address (alias control-plane) to probe health and serve the model endpoint; only
   * internal ones, so its default route and published port stay on its own network.
   */
  controlPlaneContainer?: string;
  /**
   * The proxy's container (Traefik), when one runs: it joins every user network at the plan's .2
   * address (alias proxy), the only source OpenClaw believes a user header from. It may be down or
   * not made yet: runtimes start without it, and it is joined again when it comes (ProxyPeer).
   */
  proxyContainer?: string;
}

/** Docker's bridge option for traffic between containers of one network. */
const ICC_OPTION = 'com.docker.network.bridge.enable_icc';
/** Reading a runtime's connection table takes milliseconds; longer means the engine is stuck. */
const CONNECTIONS_CHECK_TIMEOUT_MS = 5_000;

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

function statusCode(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null ? (error as { statusCode?: number }).statusCode : undefined;
}

async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const code = typeof error === 'object' && error !== null ? (error as { code?: string }).code : undefined;
    if (code && UNREACHABLE.has(code)) throw new DriverUnavailableError(code);
    throw error;
  }
}

/** Runs a call whose listed status codes mean "nothing to do". */
async function tolerate(work: () => Promise<unknown>, ...codes: number[]): Promise<void> {
  try {
    await call(work);
  } catch (error) {
    if (!codes.includes(statusCode(error) ?? -1)) throw error;
  }
}

function toStatus(state: string): ContainerStatus {
  if (state === 'running' || state === 'paused') return 'running';
  if (state === 'created' || state === 'restarting') return state;
  return 'exited';
}

/** `docker logs` without a TTY multiplexes stdout and stderr in 8-byte-headed frames. */
function demuxBuffer(buffer: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const length = buffer.readUInt32BE(offset + 4);
    parts.push(buffer.subarray(offset + 8, offset + 8 + length));
    offset += 8 + length;
  }
  return Buffer.concat(parts).toString('utf8');
}

export class DockerDriver implements RuntimeDriver {
  private readonly docker: Docker;
  /** The previous CPU counters per user: a one-shot stats call has none, so CPU % is measured between calls. */
  private readonly cpuSamples = new Map<string, { total: number; system: number }>();
  /** The egress lookup in flight, shared by concurrent creates (see ensureEgress). */
  private egressLookup: Promise<string> | null = null;

  constructor(private readonly options: DockerDriverOptions) {
    this.docker = new Docker({ socketPath: options.socketPath });
  }

  private names(username: string) {
    return runtimeNames(this.options.prefix, username);
  }

  private labels(username: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...this.options.extraLabels,
      ...extra,
      [LABELS.platform]: this.options.prefix,
      [LABELS.user]: username,
    };
  }

  async ping(): Promise<void> {
    try {
      await call(() => this.docker.ping());
    } catch (error) {
      if (error instanceof DriverUnavailableError) throw error;
      throw new DriverUnavailableError(error instanceof Error ? error.message : String(error));
    }
  }

  /** A container's inspect data, or null when there is no such container. */
  private async inspect(container: string): Promise<Docker.ContainerInspectInfo | null> {
    try {
      return await call(() => this.docker.getContainer(container).inspect());
    } catch (error) {
      if (statusCode(error) === 404) return null;
      throw error;
    }
  }

  async find(username: string): Promise<RuntimeContainer | null> {
    const { container, network } = this.names(username);
    const info = await this.inspect(container);
    if (!info) return null;
    const labels = info.Config.Labels ?? {};
    const ip = info.NetworkSettings.Networks?.[network]?.IPAddress;
    return {
      username,
      id: info.Id,
      image: labels[LABELS.image] ?? info.Config.Image,
      status: toStatus(info.State.Status),
      startedAt: info.State.Running && info.State.StartedAt ? new Date(info.State.StartedAt) : null,
      // Docker keeps the exit code only while the container is down or waiting to restart.
      exitCode: info.State.Running && !info.State.Restarting ? null : info.State.ExitCode,
      oomKilled: info.State.OOMKilled,
      restartCount: info.RestartCount,
      address: ip ? { host: ip, port: GATEWAY_PORT } : null,
      // Made by an older version (see madeByOlderLayout): a spec that matches nothing, so the next
      // start makes it again.
      specHash: this.madeByOlderLayout(info) ? '' : (labels[LABELS.specHash] ?? ''),
    };
  }

  /**
   * A container made before runtimes had their own way out (on a user network with a gateway, see the
   * header), or with a Docker health check (an idle cost, see create).
   */
  private madeByOlderLayout(info: Docker.ContainerInspectInfo): boolean {
    const onEgress = Boolean(info.NetworkSettings.Networks?.[egressNetworkName(this.options.prefix)]);
    const healthcheck = info.Config.Healthcheck?.Test?.[0];
    return !onEgress || healthcheck !== 'NONE';
  }

  async list(): Promise<RuntimeContainer[]> {
    const found = await call(() =>
      this.docker.listContainers({ all: true, filters: { label: [`${LABELS.platform}=${this.options.prefix}`, `${LABELS.role}=runtime`] } }),
    );
    const runtimes = await Promise.all(found.map((container) => this.find(container.Labels[LABELS.user] ?? '')));
    return runtimes.filter((runtime): runtime is RuntimeContainer => runtime !== null);
  }

  /**
   * Makes the user's network: internal, on the user's /28. One that is not internal (made by an
   * older version, an ordinary bridge with a gateway) or sits on another subnet is replaced, its
   * members let go first. Called only while the user's runtime container does not exist.
   */
  private async ensureNetwork(username: string, subnetIndex: number): Promise<void> {
    const { network } = this.names(username);
    const plan = subnetPlan(this.options.subnetPool, subnetIndex);
    let existing: Docker.NetworkInspectInfo | null = null;
    try {
      existing = await call(() => this.docker.getNetwork(network).inspect());
    } catch (error) {
      if (statusCode(error) !== 404) throw error;
    }
    if (existing?.Internal && existing.IPAM?.Config?.[0]?.Subnet === plan.subnet) return;
    if (existing) await this.removeNetwork(network);
    try {
      await call(() =>
        this.docker.createNetwork({
          Name: network,
          Driver: 'bridge',
          // No gateway: whoever joins it (control plane, Traefik) keeps its default route and ports.
          Internal: true,
          CheckDuplicate: true,
          IPAM: { Driver: 'default', Config: [{ Subnet: plan.subnet, Gateway: plan.gateway }] },
          Labels: this.labels(username, { [LABELS.role]: 'network' }),
        }),
      );
    } catch (error) {
      if (statusCode(error) === 409) return; // created meanwhile by a concurrent call
      if (statusCode(error) === 403 && /overlaps/i.test(String((error as Error).message))) throw new SubnetTakenError(subnetIndex);
      throw error;
    }
  }

  /**
   * The network every runtime leaves through, made on first use: an ordinary bridge (gateway, NAT)
   * with inter-container traffic off, so the runtimes on it cannot reach each other. No shared
   * container joins it. One that lets containers talk to each other is refused, not used.
   *
   * Docker's duplicate-name check is best effort: two creates at the same moment both succeed and
   * leave two networks of one name, after which every connect by name fails as "ambiguous". So the
   * concurrent creates of this process share one lookup, and duplicates already there (an earlier
   * version had this race) are resolved by keeping the oldest and removing the rest. Returns its id.
   */
  private ensureEgress(): Promise<string> {
    this.egressLookup ??= this.findOrMakeEgress().finally(() => {
      this.egressLookup = null;
    });
    return this.egressLookup;
  }

  private async findOrMakeEgress(): Promise<string> {
    const name = egressNetworkName(this.options.prefix);
    // The name filter matches substrings: keep exact matches only.
    const listNamed = async () =>
      (await call(() => this.docker.listNetworks({ filters: { name: [name] } }))).filter((network) => network.Name === name);
    let found = await listNamed();
    if (found.length === 0) {
      await tolerate(
        () =>
          this.docker.createNetwork({
            Name: name,
            Driver: 'bridge',
            CheckDuplicate: true,
            Options: { [ICC_OPTION]: 'false' },
            Labels: { ...this.options.extraLabels, [LABELS.platform]: this.options.prefix, [LABELS.role]: 'egress' },
          }),
        409, // made meanwhile by another process
      );
      found = await listNamed();
    }
    found.sort((a, b) => Date.parse(a.Created) - Date.parse(b.Created) || a.Id.localeCompare(b.Id));
    const [kept, ...duplicates] = found;
    if (!kept) throw new Error(`network ${name} could not be made`);
    if (kept.Internal || kept.Options?.[ICC_OPTION] !== 'false') {
      throw new Error(`network ${name} exists but is internal or lets its containers reach each other: remove it, and the platform makes it again`);
    }
    for (const duplicate of duplicates) await this.mergeInto(kept.Id, duplicate.Id);
    return kept.Id;
  }

  /** Moves the containers of a duplicate egress network to the kept one (a moment without a way out), then removes the duplicate. */
  private async mergeInto(keptId: string, duplicateId: string): Promise<void> {
    let members: string[];
    try {
      members = Object.keys((await call(() => this.docker.getNetwork(duplicateId).inspect())).Containers ?? {});
    } catch (error) {
      if (statusCode(error) === 404) return;
      throw error;
    }
    // Docker knows a container's networks by name: it must leave the duplicate before it can join the kept one.
    for (const id of members) {
      await tolerate(() => this.docker.getNetwork(duplicateId).disconnect({ Container: id, Force: true }), 404);
      await tolerate(() => this.docker.getNetwork(keptId).connect({ Container: id }), 404); // removed meanwhile
    }
    await this.removeNetwork(duplicateId);
  }

  /**
   * Joins a shared container (the control plane) to a user network at its fixed address, once. Never
   * to one that is not internal (an older version's): its gateway could take the peer's default route
   * and published port. A peer found on such a network is taken off it, and the call fails; the
   * runtime's next create replaces the network.
   */
  private async attachPeer(network: string, peer: string, address: string, aliases: string[]): Promise<void> {
    const handle = this.docker.getNetwork(network);
    const info = await call<Docker.NetworkInspectInfo>(() => handle.inspect());
    const peerId = (await call(() => this.docker.getContainer(peer).inspect())).Id;
    const joined = Object.keys(info.Containers ?? {}).includes(peerId);
    if (!info.Internal) {
      if (joined) await tolerate(() => handle.disconnect({ Container: peerId, Force: true }), 404);
      throw new Error(`network ${network} is not internal (made by an older version): ${peer} does not join it until the runtime is made again, which replaces the network`);
    }
    if (joined) return;
    try {
      await call(() => handle.connect({ Container: peerId, EndpointConfig: { IPAMConfig: { IPv4Address: address }, Aliases: aliases } }));
    } catch (error) {
      // Joined meanwhile (a start and the proxy's rejoin at the same moment): Docker answers 403 "endpoint ... already exists".
      const joinedMeanwhile = statusCode(error) === 409 || (statusCode(error) === 403 && /already exists/i.test(String((error as Error).message)));
      if (!joinedMeanwhile) throw error;
    }
  }

  async connectPeers(username: string, subnetIndex: number): Promise<void> {
    const plan = subnetPlan(this.options.subnetPool, subnetIndex);
    const network = this.names(username).network;
    if (this.options.controlPlaneContainer) await this.attachPeer(network, this.options.controlPlaneContainer, plan.controlPlane, ['control-plane']);
    if (this.options.proxyContainer) {
      try {
        await this.attachPeer(network, this.options.proxyContainer, plan.proxy, ['proxy']);
      } catch (error) {
        // The proxy not running yet is no reason to refuse a start: it is joined when it comes.
        if (statusCode(error) !== 404 && !/is not running/i.test(String((error as Error).message))) throw error;
      }
    }
  }

  async peer(container: string): Promise<PeerContainer | null> {
    const info = await this.inspect(container);
    if (!info?.State.Running) return null;
    const addresses = Object.values(info.NetworkSettings.Networks ?? {}).map((endpoint) => endpoint.IPAddress).filter(Boolean);
    return { id: info.Id, startedAt: info.State.StartedAt, addresses };
  }

  async restartPeer(container: string, graceSeconds: number): Promise<void> {
    const info = await this.inspect(container);
    // Never another container of the host that happens to have the name.
    if (!info || info.Config.Labels?.[LABELS.platform] !== this.options.prefix) throw new DriverUnavailableError(`no container ${container} of this platform`);
    await call(() => this.docker.getContainer(container).restart({ t: graceSeconds }));
  }

  async create(spec: RuntimeSpec): Promise<RuntimeContainer> {
    const { container, volume, network } = this.names(spec.username);
    await this.ensureNetwork(spec.username, spec.subnetIndex);
    const egress = await this.ensureEgress();
    await this.connectPeers(spec.username, spec.subnetIndex);
    // Creating an existing volume returns it unchanged: the user's files survive every recreate.
    await call(() => this.docker.createVolume({ Name: volume, Labels: this.labels(spec.username, { [LABELS.role]: 'home' }) }));
    const plan = subnetPlan(this.options.subnetPool, spec.subnetIndex);
    const made = await call(() =>
      this.docker.createContainer({
        name: container,
        Image: spec.image,
        Hostname: `openclaw-${spec.username}`,
        Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
        Labels: this.labels(spec.username, {
          ...spec.labels,
          [LABELS.role]: 'runtime',
          [LABELS.image]: spec.image,
          [LABELS.specHash]: spec.specHash,
        }),
        // No Docker health check: the control plane decides "running" with its own /healthz probe when it
        // needs to know. Every check is a `runc exec`, about 55 ms of CPU (runc, shim, containerd, dockerd)
        // plus the test: the old `node` test every 2 s kept a 2-core host 85 % busy with 25 idle runtimes,
        // against 18 % with none (docs/benchmarks.md, "Idle runtimes"). A slow check instead would keep
        // every started runtime "starting" for up to one interval (Docker 20.10 has no start interval), and
        // Traefik does not route to a container whose check has not passed yet.
        Healthcheck: { Test: ['NONE'] },
        HostConfig: {
          Mounts: [{ Type: 'volume', Source: volume, Target: STATE_DIR }],
          NetworkMode: network,
          // Hardened like OpenClaw's own multi-tenant cells: no capabilities (no raw sockets either,
          // so the shared proxy cannot be used as a router into another user's network).
          CapDrop: ['ALL'],
          SecurityOpt: ['no-new-privileges:true'],
          Privileged: false,
          Init: true,
          PidsLimit: spec.limits.pidsLimit,
          Memory: spec.limits.memoryBytes,
          MemorySwap: spec.limits.memoryBytes,
          NanoCpus: spec.limits.nanoCpus,
          RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
          LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
        },
        NetworkingConfig: { EndpointsConfig: { [network]: { IPAMConfig: { IPv4Address: plan.runtime } } } },
      }),
    );
    // API 1.41 takes one network at create: the way out is joined before the first start. A container
    // without it would run cut off from the internet, so it does not stay.
    try {
      await call(() => this.docker.getNetwork(egress).connect({ Container: made.id }));
    } catch (error) {
      await this.removeContainer(spec.username).catch(() => undefined);
      throw error;
    }
    const created = await this.find(spec.username);
    if (!created) throw new Error(`container ${container} vanished right after it was created`);
    return created;
  }

  async start(username: string, subnetIndex: number): Promise<void> {
    // A recreated control plane container has lost its network memberships: join again first.
    await this.connectPeers(username, subnetIndex);
    await tolerate(() => this.docker.getContainer(this.names(username).container).start(), 304);
  }

  async updateLimits(username: string, limits: RuntimeLimits): Promise<void> {
    // Docker changes the cgroup of a running container in place: no restart, nothing lost.
    try {
      await tolerate(
        () =>
          this.docker.getContainer(this.names(username).container).update({
            Memory: limits.memoryBytes,
            MemorySwap: limits.memoryBytes,
            NanoCpus: limits.nanoCpus,
            PidsLimit: limits.pidsLimit,
          }),
        404,
      );
    } catch (error) {
      if (error instanceof DriverUnavailableError || statusCode(error) === undefined) throw error;
      // The engine said no (the kernel refuses a memory limit under what the container uses now,
      // and Docker passes that on as a 500): its reason, without dockerode's "(HTTP code ...)" wrapping.
      const json = (error as { json?: { message?: string } }).json;
      throw new LimitsRefusedError(json?.message ?? (error as Error).message);
    }
  }

  async stop(username: string, graceSeconds: number): Promise<void> {
    await tolerate(() => this.docker.getContainer(this.names(username).container).stop({ t: graceSeconds }), 304, 404);
  }

  async removeContainer(username: string): Promise<void> {
    await tolerate(() => this.docker.getContainer(this.names(username).container).remove({ force: true }), 404, 409);
  }

  async remove(username: string, options: { purgeVolume: boolean }): Promise<void> {
    const { network, volume } = this.names(username);
    await this.removeContainer(username);
    await this.removeNetwork(network);
    if (options.purgeVolume) await tolerate(() => this.docker.getVolume(volume).remove(), 404);
  }

  private async removeNetwork(name: string): Promise<void> {
    const handle = this.docker.getNetwork(name);
    let info: { Containers?: Record<string, unknown> };
    try {
      info = (await call(() => handle.inspect()));
    } catch (error) {
      if (statusCode(error) === 404) return;
      throw error;
    }
    // Shared peers (the proxy, the control plane) are attached to every user network: let go first.
    for (const id of Object.keys(info.Containers ?? {})) {
      await tolerate(() => handle.disconnect({ Container: id, Force: true }), 404);
    }
    await tolerate(() => handle.remove(), 404);
  }

  async volumeExists(username: string): Promise<boolean> {
    try {
      await call(() => this.docker.getVolume(this.names(username).volume).inspect());
      return true;
    } catch (error) {
      if (statusCode(error) === 404) return false;
      throw error;
    }
  }

  async logs(username: string, options: LogOptions): Promise<Readable> {
    const container = this.docker.getContainer(this.names(username).container);
    if (!options.follow) {
      const buffer = await call(() => container.logs({ stdout: true, stderr: true, tail: options.tail, follow: false }));
      const out = new PassThrough();
      out.end(demuxBuffer(buffer));
      return out;
    }
    const raw = await call(() => container.logs({ stdout: true, stderr: true, tail: options.tail, follow: true }));
    const out = new PassThrough();
    this.docker.modem.demuxStream(raw, out, out);
    raw.on('end', () => out.end());
    raw.on('error', (error: Error) => out.destroy(error));
    out.on('close', () => (raw as Readable).destroy());
    return out;
  }

  async usage(username: string): Promise<RuntimeUsage | null> {
    let stats: Docker.ContainerStats;
    try {
      // one-shot answers at once; without it Docker waits a second to sample the CPU twice.
      stats = await call(() => this.docker.getContainer(this.names(username).container).stats({ stream: false, 'one-shot': true } as { stream: false }));
    } catch (error) {
      if (statusCode(error) === 404) return null;
      throw error;
    }
    const sample = { total: stats.cpu_stats.cpu_usage.total_usage, system: stats.cpu_stats.system_cpu_usage ?? 0 };
    const previous = this.cpuSamples.get(username);
    this.cpuSamples.set(username, sample);
    const cpuDelta = previous ? sample.total - previous.total : 0;
    const systemDelta = previous ? sample.system - previous.system : 0;
    const cpus = stats.cpu_stats.online_cpus || stats.cpu_stats.cpu_usage.percpu_usage?.length || 1;
    // Page cache is reclaimable: count what the processes hold, as `docker stats` does.
    const memoryStats = stats.memory_stats as { usage?: number; limit?: number; stats?: Record<string, number> };
    const cache = memoryStats.stats?.inactive_file ?? memoryStats.stats?.total_inactive_file ?? 0;
    return {
      memoryBytes: Math.max(0, (memoryStats.usage ?? 0) - cache),
      memoryLimitBytes: memoryStats.limit ?? 0,
      cpuPercent: systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0,
    };
  }

  async clientConnections(username: string, subnetIndex: number): Promise<number> {
    const container = await this.find(username);
    if (container?.status !== 'running') return 0;
    // As the runtime's own user: the kernel's tables are readable by anyone in the container. tcp6
    // may be missing (IPv6 off), so cat's exit code says nothing; what it printed does. Bounded: the
    // idle sweep checks runtimes one after another, and one stuck exec must not hold up the rest.
    const process = await this.exec(username, ['/bin/cat', '/proc/net/tcp', '/proc/net/tcp6'], { user: '1000', stdin: false });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      process.abort();
    }, CONNECTIONS_CHECK_TIMEOUT_MS);
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdout) chunks.push(chunk as Buffer);
      await process.exit;
      if (timedOut) throw new Error(`reading ${username}'s connections took longer than ${CONNECTIONS_CHECK_TIMEOUT_MS} ms`);
      return countEstablished(Buffer.concat(chunks).toString('utf8'), GATEWAY_PORT, subnetPlan(this.options.subnetPool, subnetIndex).proxy);
    } finally {
      clearTimeout(timer);
    }
  }

  async exec(username: string, command: string[], options: ExecOptions): Promise<ExecProcess> {
    const container = this.docker.getContainer(this.names(username).container);
    const exec = await call(() =>
      container.exec({ Cmd: command, User: options.user, AttachStdin: options.stdin, AttachStdout: true, AttachStderr: true, Tty: false }),
    );
    // hijack: a raw two-way connection; ending its write side is how the process sees end of input.
    const connection = await call(() => exec.start({ hijack: true, stdin: options.stdin }));
    const stdout = new ExecOutputDemuxer();
    connection.pipe(stdout);
    // A container that stops mid-stream resets the connection, maybe more than once: every error
    // must have a listener, or it would take the whole control plane down.
    connection.on('error', (error: Error) => stdout.destroy(error));
    const exit = new Promise<{ code: number; stderr: string }>((resolve, reject) => {
      let ended = false;
      stdout.once('error', reject);
      // Aborted (destroyed without an end): the process is cut off and its code will never be read.
      stdout.once('close', () => {
        if (!ended) resolve({ code: -1, stderr: stdout.stderr });
      });
      stdout.once('end', () => {
        ended = true;
        void (async () => {
          // The output ends a moment before Docker records the exit code.
          for (let attempt = 0; attempt < 50; attempt += 1) {
            // 404: the container stopped and took the exec with it; the process is gone, its code unknown.
            const info = await exec.inspect().catch(() => null);
            if (!info) break;
            if (!info.Running && info.ExitCode !== null) return resolve({ code: info.ExitCode, stderr: stdout.stderr });
            await new Promise((wait) => setTimeout(wait, 20));
          }
          resolve({ code: -1, stderr: stdout.stderr });
        })().catch(reject);
      });
    });
    // Callers that gave up on a process (a download abandoned) never await its exit: its failure
    // must not surface as an unhandled rejection, which would end the control plane.
    exit.catch(() => undefined);
    return {
      stdin: options.stdin ? connection : null,
      stdout,
      exit,
      abort: () => {
        connection.destroy();
        stdout.destroy();
      },
    };
  }

  watch(watcher: ContainerWatch): () => void {
    let closed = false;
    let current: NodeJS.ReadableStream | null = null;
    let retry: NodeJS.Timeout | null = null;
    let backoffMs = WATCH_RETRY_MIN_MS;
    const again = () => {
      current = null;
      if (closed || retry) return;
      retry = setTimeout(() => {
        retry = null;
        backoffMs = Math.min(backoffMs * 2, WATCH_RETRY_MAX_MS);
        open();
      }, backoffMs);
      retry.unref();
    };
    const open = () => {
      const filters = { type: ['container'], event: [...WATCHED_ACTIONS], label: [`${LABELS.platform}=${this.options.prefix}`, `${LABELS.role}=runtime`] };
      this.docker.getEvents({ filters: JSON.stringify(filters) } as Docker.GetEventsOptions).then(
        (stream) => {
          if (closed) return void (stream as Readable).destroy();
          current = stream;
          backoffMs = WATCH_RETRY_MIN_MS;
          watcher.onConnected();
          let pending = '';
          stream.on('data', (chunk: Buffer) => {
            pending += chunk.toString('utf8');
            let newline: number;
            while ((newline = pending.indexOf('\n')) >= 0) {
              const line = pending.slice(0, newline).trim();
              pending = pending.slice(newline + 1);
              const event = line ? toContainerEvent(line) : null;
              if (event) watcher.onEvent(event);
            }
          });
          stream.on('error', () => undefined);
          stream.on('close', again);
          stream.on('end', again);
        },
        () => again(),
      );
    };
    open();
    return () => {
      closed = true;
      if (retry) clearTimeout(retry);
      (current as Readable | null)?.destroy();
    };
  }
}

const WATCHED_ACTIONS = ['start', 'die', 'oom', 'destroy'] as const;
const WATCH_RETRY_MIN_MS = 1_000;
const WATCH_RETRY_MAX_MS = 30_000;

/** One line of Docker's event stream, or null for anything that is not a runtime event we follow. */
function toContainerEvent(line: string): ContainerEvent | null {
  let raw: { Action?: string; Actor?: { ID?: string; Attributes?: Record<string, string> }; timeNano?: number; time?: number };
  try {
    raw = JSON.parse(line) as typeof raw;
  } catch {
    return null;
  }
  const action = WATCHED_ACTIONS.find((name) => name === raw.Action);
  const username = raw.Actor?.Attributes?.[LABELS.user];
  if (!action || !username || !raw.Actor?.ID) return null;
  const exitCode = raw.Actor.Attributes?.exitCode;
  return {
    username,
    containerId: raw.Actor.ID,
    action,
    exitCode: exitCode === undefined ? null : Number(exitCode),
    at: raw.timeNano ? new Date(raw.timeNano / 1e6) : raw.time ? new Date(raw.time * 1000) : new Date(),
  };
}
