/**
 * What a runtime's state is right now, read from Docker and the database together, so a restarted
 * control plane agrees with what Docker really runs. "running" is only ever reported after the
 * gateway's /healthz said ok. Never waits for Docker's stats: usage comes from the background sampler.
 */
import type { RuntimeRecord, RuntimeRepository, RuntimeState } from '../repositories/runtime.repository';
import type { HealthProbe } from '../runtimes/health-probe';
import type { RuntimeContainer, RuntimeDriver, RuntimeUsage } from '../runtimes/runtime-driver';
import type { KeyedLock } from './keyed-lock';
import type { RuntimeExit } from './runtime-exit';
import type { RuntimeUsageSampler } from './runtime-usage-sampler';
import { controlUiUrl, type RuntimeAddressing } from '../proxy/runtime-address';

export interface RuntimeOwner {
  id: number;
  username: string;
}

export interface RuntimeView {
  username: string;
  state: RuntimeState;
  image: string | null;
  startedAt: Date | null;
  usage: RuntimeUsage | null;
  limits: { memoryMb: number; cpus: number; custom: boolean };
  lastActivityAt: Date | null;
  error: { message: string; logs: string } | null;
  /** Something the user should know that is not an error, e.g. an upgrade that was rolled back. */
  notice: string | null;
  /** How it last ended without the platform asking (crash, kill, out of memory, removal), if it did. */
  lastExit: RuntimeExit | null;
  /** Where the browser opens its Control UI: on the runtime origin (RUNTIME_URL), not the platform's. */
  controlUiUrl: string;
}

export interface LimitDefaults {
  memoryMb: number;
  cpus: number;
}

export function limitsOf(row: Pick<RuntimeRecord, 'memoryMb' | 'cpus'> | undefined, defaults: LimitDefaults): LimitDefaults {
  return { memoryMb: row?.memoryMb ?? defaults.memoryMb, cpus: row?.cpus ?? defaults.cpus };
}

export function parseExit(row: RuntimeRecord | undefined): RuntimeExit | null {
  if (!row?.lastExit) return null;
  try {
    return JSON.parse(row.lastExit) as RuntimeExit;
  } catch {
    return null;
  }
}

/** States in which an operation of ours is under way (while the user's lock is held). */
const OPERATION_STATES: readonly RuntimeState[] = ['creating', 'starting', 'stopping'];

const HEALTH_MEMORY_MS = 10_000;

export class RuntimeStatusReader {
  private readonly healthyAt = new Map<string, { id: string; at: number }>();

  constructor(
    private readonly driver: RuntimeDriver,
    private readonly runtimes: RuntimeRepository,
    private readonly lock: KeyedLock,
    private readonly probe: HealthProbe,
    private readonly usage: RuntimeUsageSampler,
    private readonly defaults: LimitDefaults & { addressing: RuntimeAddressing },
  ) {}

  async status(owner: RuntimeOwner): Promise<RuntimeView> {
    const container = await this.driver.find(owner.username);
    const row = this.runtimes.find(owner.id);
    const state = await this.currentState(owner, row, container);
    // A runtime its restart policy brought back after a crash is running again once healthy.
    let current = row;
    if (state === 'running' && row?.state === 'starting' && !this.lock.isBusy(owner.username)) {
      this.runtimes.update(owner.id, { state: 'running' });
      current = this.runtimes.find(owner.id);
    }
    if (state !== 'running') this.usage.forget(owner.username);
    return this.view(owner, current, container, state, state === 'running' ? this.usage.read(owner.username) : null);
  }

  private async currentState(owner: RuntimeOwner, row: RuntimeRecord | undefined, container: RuntimeContainer | null): Promise<RuntimeState> {
    if (this.lock.isBusy(owner.username) && row && OPERATION_STATES.includes(row.state)) return row.state;
    if (row?.state === 'error') return 'error';
    if (!container) return 'absent';
    if (container.status === 'exited' || container.status === 'created') return 'stopped';
    if (container.status === 'restarting' || !container.address) return 'starting';
    return (await this.healthy(container)) ? 'running' : 'starting';
  }

  /**
   * Our own /healthz probe, remembered for a few seconds per container: a page of 100 runtimes read
   * every few seconds does not probe each one each time, and a host busy starting others (where a
   * probe may time out) does not make a runtime that just answered flip back to "starting".
   */
  private async healthy(container: RuntimeContainer): Promise<boolean> {
    const last = this.healthyAt.get(container.username);
    if (last && last.id === container.id && Date.now() - last.at < HEALTH_MEMORY_MS) return true;
    const ok = await this.probe(container.address!);
    if (ok) this.healthyAt.set(container.username, { id: container.id, at: Date.now() });
    else this.healthyAt.delete(container.username);
    return ok;
  }

  /** A runtime that just became healthy (a start saw it), so the next read need not ask again. */
  noteHealthy(container: RuntimeContainer): void {
    this.healthyAt.set(container.username, { id: container.id, at: Date.now() });
  }

  /** The runtime went down: whatever it answered before no longer holds. */
  forgetHealth(username: string): void {
    this.healthyAt.delete(username);
    this.usage.forget(username);
  }

  view(owner: RuntimeOwner, row: RuntimeRecord | undefined, container: RuntimeContainer | null, state: RuntimeState, usage: RuntimeUsage | null): RuntimeView {
    const limits = limitsOf(row, this.defaults);
    return {
      username: owner.username,
      state,
      image: container?.image ?? row?.image ?? null,
      startedAt: state === 'running' || state === 'starting' ? (container?.startedAt ?? null) : null,
      usage,
      limits: { memoryMb: limits.memoryMb, cpus: limits.cpus, custom: row?.memoryMb != null || row?.cpus != null },
      lastActivityAt: row?.lastActivityAt ?? null,
      error: state === 'error' && row?.errorMessage ? { message: row.errorMessage, logs: row.errorLogs ?? '' } : null,
      notice: state !== 'error' ? (row?.errorMessage ?? null) : null,
      lastExit: parseExit(row),
      controlUiUrl: controlUiUrl(this.defaults.addressing, owner.username),
    };
  }
}
