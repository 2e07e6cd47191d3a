/**
 * The runtime manager's use cases: start, stop, restart, remove and limit each user's OpenClaw
 * runtime, and wake it for a visit or a file call. Operations for one user run one at a time
 * (KeyedLock). Its parts live beside it: runtime-bring-up.ts makes a container and waits for
 * its health, runtime-status.ts reads the state (never waiting for Docker's stats:
 * runtime-usage-sampler.ts), runtime-activity.ts tracks use for the idle stop, runtime-watcher.ts
 * follows what happens to runtimes behind the platform's back.
 */
import type { Readable } from 'node:stream';
import { AppError, ServiceUnavailableError } from '../errors/app-error';
import { NO_METRICS, type RuntimeObserver, type StartFailureCause } from '../metrics/observers';
import type { RuntimeRecord, RuntimeRepository } from '../repositories/runtime.repository';
import type { HealthProbe } from '../runtimes/health-probe';
import { redactingStream } from '../runtimes/log-redaction';
import { DriverUnavailableError, LimitsRefusedError, type RuntimeDriver } from '../runtimes/runtime-driver';
import { runtimeNames, subnetCapacity } from '../runtimes/runtime-names';
import type { AuditService } from './audit.service';
import type { RuntimeRemoval } from './user.service';
import { KeyedLock } from './keyed-lock';
import { PLATFORM_CONTEXT, type RequestContext } from './request-context';
import { RuntimeActivity } from './runtime-activity';
import { RuntimeBringUp, RuntimeStartError, type BringUpSettings } from './runtime-bring-up';
import type { RuntimeEvents, RuntimeStep } from './runtime-events';
import { limitsOf, RuntimeStatusReader, type RuntimeOwner, type RuntimeView } from './runtime-status';
import { RuntimeUsageSampler, type UsageSamplerOptions } from './runtime-usage-sampler';
import { RuntimeWatcher } from './runtime-watcher';

export type { RuntimeOwner, RuntimeView } from './runtime-status';
export { RuntimeStartError } from './runtime-bring-up';

/** Everything a runtime is made from (runtime-bring-up.ts), plus the image runtimes should run. */
export interface RuntimeSettings extends BringUpSettings {
  image: string;
}

const STOP_GRACE_SECONDS = 10;
const CONTAINER_POLL_MS = 200;


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Docker's refusal of new limits, in words; the old limits stay as they were. */
function limitsRefusal(reason: string, memoryMb: number): string {
  // runc: "unable to set memory limit to N (current usage: M, ...)"; older kernels/runc: EBUSY on the cgroup file.
  const inUse = /current usage: (\d+)/.exec(reason);
  const why = inUse
    ? `the runtime is using ${Math.ceil(Number(inUse[1]) / 2 ** 20)} MiB of memory right now, more than ${memoryMb} MiB. Stop it first, or choose a higher limit`
    : /memory limit|memory\.limit_in_bytes|device or resource busy/i.test(reason)
      ? `the runtime is using more than ${memoryMb} MiB of memory right now. Stop it first, or choose a higher limit`
      : `Docker said: ${reason.trim()}`;
  return `The new limits were not applied: ${why}. The old limits are kept.`;
}

/** A failed start's cause in one word (the start failures metric). */
function startFailureCause(error: unknown): StartFailureCause {
  if (error instanceof DriverUnavailableError) return 'docker_unavailable';
  if (error instanceof RuntimeStartError) return error.failure;
  return 'other';
}

export class RuntimeService implements RuntimeRemoval {
  private readonly lock = new KeyedLock();
  private readonly activity: RuntimeActivity;
  private readonly usage: RuntimeUsageSampler;
  private readonly reader: RuntimeStatusReader;
  private readonly bringer: RuntimeBringUp;
  /** Follows Docker's events once watch() is called (the platform does; unit tests may). */
  readonly watcher: RuntimeWatcher;

  constructor(
    private readonly driver: RuntimeDriver,
    private readonly runtimes: RuntimeRepository,
    private readonly audit: AuditService,
    private readonly events: RuntimeEvents,
    probe: HealthProbe,
    private readonly settings: RuntimeSettings,
    usageOptions: Partial<UsageSamplerOptions> = {},
    /** Start and stop durations, start failures, idle stops (the platform's metrics). */
    private readonly observer: RuntimeObserver = NO_METRICS,
  ) {
    this.activity = new RuntimeActivity(runtimes);
    this.bringer = new RuntimeBringUp(driver, runtimes, probe, settings);
    this.usage = new RuntimeUsageSampler(driver, usageOptions);
    this.reader = new RuntimeStatusReader(driver, runtimes, this.lock, probe, this.usage, settings);
    this.watcher = new RuntimeWatcher(driver, runtimes, this.lock, this.reader, events, audit, settings, {
      halt: (username) => this.lock.run(username, () => this.driver.stop(username, 1)),
      lastLogs: (username) => this.bringer.lastLogs(username),
    });
  }

  /** Starts following what happens to runtimes behind the platform's back. */
  watch(onError?: (error: unknown) => void): void {
    this.watcher.begin(onError);
  }

  close(): void {
    this.watcher.end();
    this.usage.close();
  }

  /** Docker must answer before anything else is tried; a clear 503 beats a stack trace. */
  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof DriverUnavailableError) {
        throw new ServiceUnavailableError('Docker is not reachable right now, so runtimes cannot be managed. Try again shortly or ask an admin.', error.message);
      }
      throw error;
    }
  }

  status(owner: RuntimeOwner): Promise<RuntimeView> {
    return this.guard(() => this.reader.status(owner));
  }

  private limitsOf(row: RuntimeRecord | undefined) {
    return limitsOf(row, this.settings);
  }

  start(context: RequestContext, owner: RuntimeOwner): Promise<RuntimeView> {
    return this.guard(() =>
      this.lock.run(owner.username, async () => {
        try {
          await this.driver.ping();
        } catch (error) {
          this.observer.runtimeStartFailed('docker_unavailable');
          throw error;
        }
        const began = Date.now();
        const step = (name: RuntimeStep, message?: string) =>
          this.events.emit({ username: owner.username, step: name, at: new Date().toISOString(), elapsedMs: Date.now() - began, message });
        const row = this.runtimes.ensure(owner.id, subnetCapacity(this.settings.subnetPool));
        // Say so at once: a status read in the next moment must not still see "stopped".
        this.runtimes.update(owner.id, { state: 'starting' });
        const target = this.settings.image;
        const previous = row.image && row.image !== target ? row.image : null;
        try {
          await this.bringer.bringUp(owner, row, target, step);
          this.runtimes.update(owner.id, { state: 'running', image: target, previousImage: previous, errorMessage: null, errorLogs: null, lastExit: null, startedAt: new Date(), lastActivityAt: new Date() });
          this.audit.record(context, previous ? 'runtime.upgrade' : 'runtime.start', owner.username, 'success', previous ? { from: previous, to: target } : undefined);
        } catch (error) {
          if (error instanceof DriverUnavailableError || !previous) return this.fail(context, owner, error, step, 'runtime.start');
          // Health-gated upgrade: the new image did not come up, so go back to the one that did.
          step('rolling back', `${target} did not become healthy; going back to ${previous}`);
          try {
            await this.driver.removeContainer(owner.username);
            await this.bringer.bringUp(owner, this.runtimes.find(owner.id) ?? row, previous, step);
          } catch (rollbackError) {
            return this.fail(context, owner, rollbackError, step, 'runtime.upgrade');
          }
          const notice = `The upgrade to ${target} failed (${(error as Error).message}); the runtime is back on ${previous}.`;
          this.runtimes.update(owner.id, { state: 'running', image: previous, errorMessage: notice, errorLogs: null, startedAt: new Date(), lastActivityAt: new Date() });
          this.audit.record(context, 'runtime.upgrade', owner.username, 'failure', { from: previous, to: target, rolledBack: true });
          this.observer.runtimeStartFailed('upgrade_rolled_back');
        }
        step('ready');
        this.observer.runtimeStarted((Date.now() - began) / 1000);
        // Healthy a moment ago: say so, rather than re-probe a host that may be busy starting others.
        // No usage yet: Docker 20.10 answers stats only on its once-a-second tick, which would hold
        // every start's answer for up to a second (bench/runtime.bench.mjs); the next status has it.
        const container = await this.driver.find(owner.username);
        if (container) this.reader.noteHealthy(container);
        return this.reader.view(owner, this.runtimes.find(owner.id), container, 'running', null);
      }),
    );
  }

  private fail(context: RequestContext, owner: RuntimeOwner, error: unknown, step: (name: RuntimeStep, message?: string) => void, action: string): never {
    this.observer.runtimeStartFailed(startFailureCause(error));
    if (error instanceof DriverUnavailableError) {
      this.runtimes.update(owner.id, { state: 'error', errorMessage: 'Docker stopped answering during the operation.', errorLogs: null });
      throw error;
    }
    const message = error instanceof Error ? error.message : String(error);
    const logs = error instanceof RuntimeStartError ? (error.detail ?? '') : '';
    this.runtimes.update(owner.id, { state: 'error', errorMessage: message, errorLogs: logs });
    this.audit.record(context, action, owner.username, 'failure', { reason: message });
    step('failed', message);
    throw error instanceof AppError ? error : new RuntimeStartError(message, logs);
  }

  stop(context: RequestContext, owner: RuntimeOwner, reason: 'user' | 'idle' = 'user'): Promise<RuntimeView> {
    return this.guard(() =>
      this.lock.run(owner.username, async () => {
        await this.driver.ping();
        const began = Date.now();
        const step = (name: RuntimeStep) => this.events.emit({ username: owner.username, step: name, at: new Date().toISOString(), elapsedMs: Date.now() - began });
        if (this.runtimes.find(owner.id)) this.runtimes.update(owner.id, { state: 'stopping' });
        step('stopping');
        await this.driver.stop(owner.username, STOP_GRACE_SECONDS);
        this.observer.runtimeStopped((Date.now() - began) / 1000, reason);
        if (this.runtimes.find(owner.id)) this.runtimes.update(owner.id, { state: 'stopped', errorMessage: null, errorLogs: null, lastExit: null });
        this.reader.forgetHealth(owner.username);
        step('stopped');
        this.audit.record(context, 'runtime.stop', owner.username, 'success', reason === 'idle' ? { reason } : undefined);
        return this.status(owner);
      }),
    );
  }

  async restart(context: RequestContext, owner: RuntimeOwner): Promise<RuntimeView> {
    await this.stop(context, owner);
    return this.start(context, owner);
  }

  /** Removes the runtime; its volume (the user's files) only when `purge` is asked for explicitly. */
  remove(context: RequestContext, owner: RuntimeOwner, purge: boolean): Promise<void> {
    return this.guard(() =>
      this.lock.run(owner.username, async () => {
        await this.driver.remove(owner.username, { purgeVolume: purge });
        if (purge) this.runtimes.delete(owner.id);
        else if (this.runtimes.find(owner.id)) this.runtimes.update(owner.id, { state: 'absent', containerId: null, tokenHash: null, errorMessage: null, errorLogs: null, lastExit: null });
        this.reader.forgetHealth(owner.username);
        this.audit.record(context, 'runtime.delete', owner.username, 'success', { purge });
      }),
    );
  }

  /** Before a user is deleted: remove their runtime if they ever had one. */
  async removeFor(context: RequestContext, owner: RuntimeOwner, purge: boolean): Promise<void> {
    if (!this.runtimes.find(owner.id) && !purge) {
      // Never started through this platform: still clean up a container adopted from Docker.
      if (!(await this.guard(() => this.driver.find(owner.username)))) return;
    }
    await this.remove(context, owner, purge);
  }

  /**
   * Per-user limits (null = the default), applied at once: Docker changes a running container's
   * cgroup in place. The container takes them first, so a refusal by Docker saves nothing.
   */
  setLimits(context: RequestContext, owner: RuntimeOwner, limits: { memoryMb?: number | null; cpus?: number | null }): Promise<RuntimeRecord> {
    return this.guard(() =>
      this.lock.run(owner.username, async () => {
        const current = this.runtimes.ensure(owner.id, subnetCapacity(this.settings.subnetPool));
        const wanted = {
          ...current,
          ...(limits.memoryMb !== undefined && { memoryMb: limits.memoryMb }),
          ...(limits.cpus !== undefined && { cpus: limits.cpus }),
        };
        try {
          await this.driver.updateLimits(owner.username, this.bringer.driverLimits(wanted));
        } catch (error) {
          if (!(error instanceof LimitsRefusedError)) throw error;
          this.audit.record(context, 'runtime.limits', owner.username, 'failure', { ...limits, reason: error.reason });
          throw new AppError(409, 'limits_refused', limitsRefusal(error.reason, wanted.memoryMb ?? this.settings.memoryMb), { detail: error.reason });
        }
        const updated = this.runtimes.update(owner.id, { memoryMb: wanted.memoryMb, cpus: wanted.cpus });
        this.audit.record(context, 'runtime.limits', owner.username, 'success', limits);
        return updated!;
      }),
    );
  }

  /**
   * After a control plane restart: shared peers join the networks of runtimes that kept running (a
   * recreated control plane container lost them). Returns who was reconnected; failures wait for the
   * runtime's next start, which joins again.
   */
  async reconnectRunning(): Promise<{ reconnected: string[]; unreachable: string[] }> {
    const reconnected: string[] = [];
    const unreachable: string[] = [];
    for (const container of await this.guard(() => this.driver.list())) {
      if (container.status !== 'running' && container.status !== 'restarting') continue;
      const record = this.runtimes.findByUsername(container.username);
      if (record?.subnetIndex == null) continue;
      try {
        await this.driver.connectPeers(container.username, record.subnetIndex);
        reconnected.push(container.username);
      } catch {
        // Left for its next start, which makes its network anew (e.g. one from an older version,
        // which the control plane must not join): until then, it cannot be reached.
        unreachable.push(container.username);
      }
    }
    return { reconnected, unreachable };
  }

  async logs(owner: RuntimeOwner, options: { tail: number; follow: boolean }): Promise<Readable> {
    return this.guard(async () => {
      const container = await this.driver.find(owner.username);
      if (!container) throw new AppError(404, 'not_found', 'This runtime has no container yet, so there are no logs.');
      return (await this.driver.logs(owner.username, options)).pipe(redactingStream());
    });
  }

  /**
   * Stops runtimes nobody used for `idleMinutes` (their volumes stay); 0 never stops anything. A
   * Control UI open in a browser is use, but for at most `openUiHours` since the last other use (a
   * page load, a file transfer, a model call), so a tab forgotten open does not keep a runtime up
   * for ever; 0 lifts that limit. Returns who was stopped, and whose Control UI could not be checked
   * (they are treated as not open). A runtime that fails to stop is left for the next sweep.
   */
  async stopIdle(idleMinutes: number, { openUiHours = 0 }: { openUiHours?: number } = {}, now = new Date()): Promise<{ stopped: string[]; unchecked: string[] }> {
    const stopped: string[] = [];
    const unchecked: string[] = [];
    if (idleMinutes <= 0) return { stopped, unchecked };
    for (const owner of this.activity.idleSince(idleMinutes, now)) {
      const open = await this.hasOpenControlUi(owner);
      if (open === 'unknown') unchecked.push(owner.username);
      const lastUse = this.runtimes.find(owner.id)?.lastActivityAt?.getTime() ?? 0;
      const forgotten = openUiHours > 0 && now.getTime() - lastUse > openUiHours * 3_600_000;
      if (open === true && !forgotten) {
        this.activity.noteOpenControlUi(owner, now);
        continue;
      }
      try {
        await this.stop(PLATFORM_CONTEXT, owner, 'idle');
        stopped.push(owner.username);
      } catch {
        // Docker away or the container busy: the next sweep tries again.
      }
    }
    return { stopped, unchecked };
  }

  /**
   * A Control UI open in a browser: its WebSocket passed the forward-auth check once, when it opened,
   * so it left no trace in the runtime's last activity since; an open connection from the proxy is
   * the sign. (A page load every few minutes would not be, nor chat without a page load.) Unknown:
   * Docker away, the container gone, the check timed out.
   */
  private async hasOpenControlUi(owner: RuntimeOwner): Promise<boolean | 'unknown'> {
    const subnetIndex = this.runtimes.find(owner.id)?.subnetIndex;
    if (subnetIndex == null) return false;
    try {
      return (await this.driver.clientConnections(owner.username, subnetIndex)) > 0;
    } catch {
      return 'unknown';
    }
  }

  /**
   * Marks work in progress inside the runtime until the returned function is called: an upload or
   * download that runs longer than the idle limit must not be cut off by the idle stop. Calling the
   * release more than once is harmless.
   */
  holdForWork(owner: RuntimeOwner): () => void {
    return this.activity.hold(owner);
  }

  recordActivity(owner: RuntimeOwner, now = new Date()): void {
    this.activity.record(owner, now);
  }

  /** Corrects runtimes the database calls running that Docker no longer runs (missed events). */
  reconcile(): Promise<string[]> {
    return this.guard(() => this.watcher.reconcile());
  }

  /**
   * The user is reaching their runtime through the proxy. A running one counts the request as use;
   * any other is started in the background (the counterpart of the idle stop) and the caller is told
   * to wait. Asked on every proxied request, so a runtime the database calls running is trusted
   * without asking Docker: the watcher corrects the database the moment Docker reports a runtime
   * killed, removed or crashed, so that trust holds however the runtime went away.
   */
  async access(context: RequestContext, owner: RuntimeOwner): Promise<'ready' | 'starting'> {
    const ready = () => {
      this.recordActivity(owner);
      return 'ready' as const;
    };
    if (this.runtimes.find(owner.id)?.state === 'running') return ready();
    if (this.lock.isBusy(owner.username)) return 'starting';
    if ((await this.status(owner)).state === 'running') return ready();
    // The outcome lands in the runtime's state and the audit log; the waiting page follows it there.
    this.start(context, owner).catch(() => undefined);
    return 'starting';
  }

  /**
   * For work inside the container (the files service): a stopped runtime is started, through the
   * usual start with its state, events and audit, but the caller only waits for the container's
   * process, not for the gateway's health, which takes far longer and is not needed to touch files.
   */
  async ensureContainerRunning(context: RequestContext, owner: RuntimeOwner): Promise<void> {
    const deadline = Date.now() + this.settings.startTimeoutSeconds * 1000;
    let starting: Promise<unknown> | null = null;
    let failure: unknown = null;
    for (;;) {
      const container = await this.guard(() => this.driver.find(owner.username));
      if (container?.status === 'running') return;
      if (failure) throw failure instanceof AppError ? failure : new RuntimeStartError(failure instanceof Error ? failure.message : 'The runtime failed to start.', '');
      if (!starting && !this.lock.isBusy(owner.username)) {
        starting = this.start(context, owner).catch((error: unknown) => {
          failure = error;
        });
      }
      if (Date.now() > deadline) throw new ServiceUnavailableError('Your runtime did not start in time, so its files cannot be reached. Try again shortly.');
      await sleep(CONTAINER_POLL_MS);
    }
  }

  names(owner: RuntimeOwner) {
    return runtimeNames(this.settings.namePrefix, owner.username);
  }
}
