/**
 * The runtime driver: how the platform makes, runs and removes one user's
 * OpenClaw container, its named volume and its private network. Modelled on
 * JupyterHub's Spawner: a small interface, with one implementation per
 * container platform (docker/ now; memory-driver.ts for unit tests; a
 * Kubernetes or Swarm driver later).
 *
 * What `find()` reports, and when:
 *  - null                before the first create, after remove(), or when the container was removed
 *                        behind the platform's back (the volume may still exist: create() reuses it).
 *  - status 'created'    created and never started.
 *  - status 'running'    the container's main process runs; that says nothing about OpenClaw being
 *                        ready: the service decides "running" only after /healthz answered ok.
 *  - status 'restarting' the restart policy is bringing a crashed gateway back.
 *  - status 'exited'     stopped by stop(), or crashed (exitCode, oomKilled tell which); after a host
 *                        reboot containers come back by their restart policy (unless-stopped), so a
 *                        runtime stopped on purpose stays exited.
 * Everything the driver made carries labels naming the platform, the user and the image, so a fresh
 * control plane adopts existing runtimes with list() instead of trusting its database alone.
 *
 * What happens to containers behind the platform's back (killed, removed, out of memory, restarted by
 * their restart policy) reaches the service through watch(), Docker's own event stream.
 *
 * Errors: DriverUnavailableError when the container engine does not answer (the API turns it into 503);
 * LimitsRefusedError when the engine will not apply new limits; other failures are thrown as they come,
 * with the engine's message.
 */
import type { Readable, Writable } from 'node:stream';

export type ContainerStatus = 'created' | 'running' | 'restarting' | 'exited';

export interface RuntimeContainer {
  username: string;
  id: string;
  /** The image reference the container was created from (a label: tags move, this does not). */
  image: string;
  status: ContainerStatus;
  startedAt: Date | null;
  /** How the main process last ended, while the container is down or restarting; null while it runs. */
  exitCode: number | null;
  oomKilled: boolean;
  restartCount: number;
  /** Where the gateway listens, reachable from the control plane. */
  address: { host: string; port: number } | null;
  /**
   * Hash of the spec it was created from: a different spec means recreate. '' when the driver made it
   * under an older layout of its own (a Docker runtime without its egress network), so it is made again.
   */
  specHash: string;
}

export interface RuntimeLimits {
  memoryBytes: number;
  nanoCpus: number;
  pidsLimit: number;
}

export interface RuntimeSpec {
  username: string;
  image: string;
  limits: RuntimeLimits;
  /** Index of the user's /28 in the subnet pool. */
  subnetIndex: number;
  /** Environment of the runtime: platform config for the entrypoint; never a provider key. */
  env: Record<string, string>;
  /** Extra labels (routing); the driver adds its own ownership labels. */
  labels: Record<string, string>;
  specHash: string;
}

export interface RuntimeUsage {
  memoryBytes: number;
  memoryLimitBytes: number;
  cpuPercent: number;
}

/** A process run inside a runtime container (docker exec). */
export interface ExecProcess {
  /** The process's stdin, when asked for; end() closes it, which the process reads as end of input. */
  stdin: Writable | null;
  /** Its stdout, with backpressure: reading slowly slows the process, never fills memory. */
  stdout: Readable;
  /** Resolves with the exit code and up to 64 KiB of stderr once the process has ended. */
  exit: Promise<{ code: number; stderr: string }>;
  /** Stops reading and drops the connection (a client went away). */
  abort(): void;
}

export interface ExecOptions {
  /** Numeric uid (the runtime's user is 1000): what the process writes belongs to it. */
  user: string;
  stdin: boolean;
}

export interface LogOptions {
  tail: number;
  follow: boolean;
}

export class DriverUnavailableError extends Error {
  constructor(detail: string) {
    super(`The container engine is not reachable: ${detail}`);
    this.name = 'DriverUnavailableError';
  }
}

/** The engine refused new limits for a container (e.g. a memory limit below what it uses now). */
export class LimitsRefusedError extends Error {
  constructor(readonly reason: string) {
    super(`the container engine refused the new limits: ${reason}`);
    this.name = 'LimitsRefusedError';
  }
}

/**
 * Something that happened to a runtime container, as the engine tells it:
 *  - 'start'    its process started (by us, or by the restart policy after a crash)
 *  - 'die'      its process ended, by itself, by a kill, or by a stop (ours or anyone's); exitCode says how
 *  - 'oom'      the kernel killed a process in it for lack of memory (a 'die' follows when it was the main one)
 *  - 'destroy'  the container was removed
 */
export interface ContainerEvent {
  username: string;
  containerId: string;
  action: 'start' | 'die' | 'oom' | 'destroy';
  exitCode: number | null;
  at: Date;
}

export interface ContainerWatch {
  onEvent(event: ContainerEvent): void;
  /**
   * The stream is (re)connected. Events while it was down are lost, so this is the moment to
   * compare what the platform believes with what the engine runs.
   */
  onConnected(): void;
}

/** The user's subnet is already used by some other network on the host: pick another one. */
export class SubnetTakenError extends Error {
  constructor(readonly subnetIndex: number) {
    super(`subnet #${subnetIndex} overlaps a network that already exists on this host`);
    this.name = 'SubnetTakenError';
  }
}

/** A shared container of the platform (the proxy), as the runtime networks see it. */
export interface PeerContainer {
  id: string;
  /** Changes with every start: a restarted peer has lost the networks it was joined to. */
  startedAt: string;
  /** Its addresses on every network it is on. */
  addresses: string[];
}

export interface RuntimeDriver {
  /** Throws DriverUnavailableError when the engine does not answer. */
  ping(): Promise<void>;
  find(username: string): Promise<RuntimeContainer | null>;
  /** Every runtime this platform made (by label), for adoption after a control plane restart. */
  list(): Promise<RuntimeContainer[]>;
  /**
   * Makes the network and volume when missing, then the container (not started). The container must not
   * exist. A user network an older version made differently is replaced. Throws SubnetTakenError when the
   * user's subnet overlaps a network the platform does not own.
   */
  create(spec: RuntimeSpec): Promise<RuntimeContainer>;
  /** Starting a running container is not an error. The subnet index lets the driver re-join shared peers. */
  start(username: string, subnetIndex: number): Promise<void>;
  /**
   * Joins the shared peers (the control plane when it runs in a container) to the user's network at
   * their fixed addresses; peers already there are left alone. A recreated control plane container
   * has lost its memberships, and runtimes that kept running need it back. Joining never changes a
   * peer's default route or published ports; a network that could (an older version's) is not joined:
   * that fails until the runtime is made again.
   */
  connectPeers(username: string, subnetIndex: number): Promise<void>;
  /** A shared container if it runs, else null. */
  peer(container: string): Promise<PeerContainer | null>;
  /**
   * Restarts a container of the platform's own by name (the LiteLLM sidecar, after its configuration
   * changed). Only containers labelled as this platform's; a missing one is a DriverUnavailableError.
   */
  restartPeer(container: string, graceSeconds: number): Promise<void>;
  /**
   * Applies limits to the existing container at once, running or not; no container is not an error.
   * Throws LimitsRefusedError when the engine refuses them; the container keeps its old limits then.
   */
  updateLimits(username: string, limits: RuntimeLimits): Promise<void>;
  /** Stops gracefully within `graceSeconds`; stopping a stopped or missing container is not an error. */
  stop(username: string, graceSeconds: number): Promise<void>;
  /** Removes the container only (network and volume stay), to recreate it; a missing one is fine. */
  removeContainer(username: string): Promise<void>;
  /** Removes the container and the network; the volume only with purgeVolume. Missing parts are fine. */
  remove(username: string, options: { purgeVolume: boolean }): Promise<void>;
  volumeExists(username: string): Promise<boolean>;
  /** The gateway's output, stdout and stderr interleaved as text lines. */
  logs(username: string, options: LogOptions): Promise<Readable>;
  usage(username: string): Promise<RuntimeUsage | null>;
  /**
   * How many connections the proxy holds open to the running runtime's gateway (a Control UI's
   * WebSocket, through Traefik): 0 when it is not running.
   */
  clientConnections(username: string, subnetIndex: number): Promise<number>;
  /** Runs a command in the running container; a container that is not running is an error (409). */
  exec(username: string, command: string[], options: ExecOptions): Promise<ExecProcess>;
  /**
   * Follows the engine's events for this platform's runtime containers until the returned function
   * is called, reconnecting by itself when the engine goes away and comes back.
   */
  watch(watcher: ContainerWatch): () => void;
}
