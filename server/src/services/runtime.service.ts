/**
 * The runtime manager's use cases: start, stop, restart, remove and report on
 * each user's OpenClaw runtime. Operations for one user run one at a time
 * (KeyedLock). "running" is only ever reported after the gateway's /healthz
 * said ok; every other state is read from Docker and the database together, so
 * a restarted control plane agrees with what Docker really runs.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { AppError, ServiceUnavailableError } from '../errors/app-error';
import type { RuntimeRecord, RuntimeRepository, RuntimeState } from '../repositories/runtime.repository';
import type { HealthProbe } from '../runtimes/health-probe';
import { redactingStream } from '../runtimes/log-redaction';
import { PLATFORM_CONFIG_ENV, platformOpenClawConfig } from '../runtimes/openclaw-config';
import { DriverUnavailableError, SubnetTakenError, type RuntimeContainer, type RuntimeDriver, type RuntimeLimits, type RuntimeUsage } from '../runtimes/runtime-driver';
import { runtimeNames, subnetCapacity, subnetPlan } from '../runtimes/runtime-names';
import { routingLabels } from '../runtimes/routing-labels';
import type { AuditService } from './audit.service';
import type { RuntimeRemoval } from './user.service';
import { KeyedLock } from './keyed-lock';
import { PLATFORM_CONTEXT, type RequestContext } from './request-context';
import type { RuntimeEvents, RuntimeStep } from './runtime-events';

export interface RuntimeSettings {
  image: string;
  namePrefix: string;
  memoryMb: number;
  cpus: number;
  pidsLimit: number;
  startTimeoutSeconds: number;
  subnetPool: string;
  publicUrl: string;
  modelBaseUrl: string;
}

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
}

const STOP_GRACE_SECONDS = 10;
const HEALTH_POLL_MS = 250;
const ERROR_LOG_LINES = 40;

export class RuntimeStartError extends AppError {
  constructor(message: string, detail: string) {
    super(502, 'runtime_failed', message, { detail });
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

const ACTIVITY_WRITE_INTERVAL_MS = 60_000;
/** Restarts by the restart policy since the last start (Docker counts from 0 at each start) that mean a loop. */
const CRASH_LOOP_RESTARTS = 3;

/** Why a container the restart policy keeps bringing back is failing, or null when it is not looping. */
function crashLoopCause(container: RuntimeContainer): string | null {
  if (container.restartCount < CRASH_LOOP_RESTARTS || container.health === 'healthy') return null;
  if (container.status !== 'running' && container.status !== 'restarting') return null;
  if (container.oomKilled) return 'it keeps running out of memory';
  return container.exitCode ? `its process keeps exiting with code ${container.exitCode}` : 'its process keeps exiting';
}
const CONTAINER_POLL_MS = 200;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class RuntimeService implements RuntimeRemoval {
  private readonly lock = new KeyedLock();
  private readonly activityNoted = new Map<number, number>();
  /** Work in progress inside a runtime (a file transfer), by user id: the idle stop leaves it alone. */
  private readonly workInProgress = new Map<number, number>();

  constructor(
    private readonly driver: RuntimeDriver,
    private readonly runtimes: RuntimeRepository,
    private readonly audit: AuditService,
    private readonly events: RuntimeEvents,
    private readonly probe: HealthProbe,
    private readonly settings: RuntimeSettings,
  ) {}

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

  async status(owner: RuntimeOwner): Promise<RuntimeView> {
    return this.guard(async () => {
      const row = this.runtimes.find(owner.id);
      const container = await this.driver.find(owner.username);
      const crash = container && !this.lock.isBusy(owner.username) ? crashLoopCause(container) : null;
      if (crash) {
        // It passed its health check once, then kept dying: "starting" forever would tell nobody anything.
        const message = `The runtime keeps crashing: ${crash} (restarted ${container!.restartCount} times). Restart it, or ask an admin to raise its limits.`;
        return { ...this.view(owner, row, container, 'error', null), error: { message, logs: await this.lastLogs(owner.username) } };
      }
      const state = await this.currentState(owner, row, container);
      const usage = container?.status === 'running' ? await this.driver.usage(owner.username) : null;
      return this.view(owner, row, container, state, usage);
    });
  }

  private async currentState(owner: RuntimeOwner, row: RuntimeRecord | undefined, container: RuntimeContainer | null): Promise<RuntimeState> {
    const busy = this.lock.isBusy(owner.username);
    if (busy && row && ['creating', 'starting', 'stopping'].includes(row.state)) return row.state;
    if (row?.state === 'error') return 'error';
    if (!container) return 'absent';
    if (container.status === 'exited' || container.status === 'created') return 'stopped';
    if (container.status === 'restarting' || !container.address) return 'starting';
    // Our own probe, or Docker's recent verdict when a busy host makes our probe time out.
    return container.health === 'healthy' || (await this.probe(container.address)) ? 'running' : 'starting';
  }

  private view(owner: RuntimeOwner, row: RuntimeRecord | undefined, container: RuntimeContainer | null, state: RuntimeState, usage: RuntimeUsage | null): RuntimeView {
    const limits = this.limitsOf(row);
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
    };
  }

  private limitsOf(row: RuntimeRecord | undefined) {
    return { memoryMb: row?.memoryMb ?? this.settings.memoryMb, cpus: row?.cpus ?? this.settings.cpus };
  }

  start(context: RequestContext, owner: RuntimeOwner): Promise<RuntimeView> {
    return this.guard(() =>
      this.lock.run(owner.username, async () => {
        await this.driver.ping();
        const began = Date.now();
        const step = (name: RuntimeStep, message?: string) =>
          this.events.emit({ username: owner.username, step: name, at: new Date().toISOString(), elapsedMs: Date.now() - began, message });
        const row = this.runtimes.ensure(owner.id, subnetCapacity(this.settings.subnetPool));
        // Say so at once: a status read in the next moment must not still see "stopped".
        this.runtimes.update(owner.id, { state: 'starting' });
        const target = this.settings.image;
        const previous = row.image && row.image !== target ? row.image : null;
        try {
          await this.bringUp(owner, row, target, step);
          this.runtimes.update(owner.id, { state: 'running', image: target, previousImage: previous, errorMessage: null, errorLogs: null, startedAt: new Date(), lastActivityAt: new Date() });
          this.audit.record(context, previous ? 'runtime.upgrade' : 'runtime.start', owner.username, 'success', previous ? { from: previous, to: target } : undefined);
        } catch (error) {
          if (error instanceof DriverUnavailableError || !previous) return this.fail(context, owner, error, step, 'runtime.start');
          // Health-gated upgrade: the new image did not come up, so go back to the one that did.
          step('rolling back', `${target} did not become healthy; going back to ${previous}`);
          try {
            await this.driver.removeContainer(owner.username);
            await this.bringUp(owner, this.runtimes.find(owner.id) ?? row, previous, step);
          } catch (rollbackError) {
            return this.fail(context, owner, rollbackError, step, 'runtime.upgrade');
          }
          const notice = `The upgrade to ${target} failed (${(error as Error).message}); the runtime is back on ${previous}.`;
          this.runtimes.update(owner.id, { state: 'running', image: previous, errorMessage: notice, errorLogs: null, startedAt: new Date(), lastActivityAt: new Date() });
          this.audit.record(context, 'runtime.upgrade', owner.username, 'failure', { from: previous, to: target, rolledBack: true });
        }
        step('ready');
        // Healthy a moment ago: say so, rather than re-probe a host that may be busy starting others.
        // No usage yet: Docker 20.10 answers stats only on its once-a-second tick, which would hold
        // every start's answer for up to a second (bench/runtime.bench.mjs); the next status has it.
        const container = await this.driver.find(owner.username);
        return this.view(owner, this.runtimes.find(owner.id), container, 'running', null);
      }),
    );
  }

  private fail(context: RequestContext, owner: RuntimeOwner, error: unknown, step: (name: RuntimeStep, message?: string) => void, action: string): never {
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

  /**
   * What a runtime's container is made from. The hash leaves out the token, which changes on every
   * create, and the limits, which Docker changes in place (driver.updateLimits) without a recreate.
   */
  private specFor(owner: RuntimeOwner, record: RuntimeRecord, image: string) {
    const subnetIndex = record.subnetIndex ?? 0;
    const plan = subnetPlan(this.settings.subnetPool, subnetIndex);
    const configFor = (token: string) =>
      platformOpenClawConfig({ username: owner.username, publicUrl: this.settings.publicUrl, proxyAddress: plan.proxy, modelBaseUrl: this.settings.modelBaseUrl, runtimeToken: token });
    const specHash = sha256(JSON.stringify({ image, subnetIndex, config: configFor('') }));
    return { subnetIndex, configFor, specHash };
  }

  private driverLimits(record: RuntimeRecord | undefined): RuntimeLimits {
    const limits = this.limitsOf(record);
    return { memoryBytes: limits.memoryMb * 1024 * 1024, nanoCpus: Math.round(limits.cpus * 1e9), pidsLimit: this.settings.pidsLimit };
  }

  /** Makes the container run `image` and waits until its gateway is healthy. */
  private async bringUp(owner: RuntimeOwner, row: RuntimeRecord, image: string, step: (name: RuntimeStep, message?: string) => void): Promise<RuntimeContainer> {
    let record = row;
    let container = await this.driver.find(owner.username);
    if (container && container.specHash !== this.specFor(owner, record, image).specHash) {
      step('stopping', 'the runtime settings or image changed: recreating its container (files are kept)');
      await this.driver.stop(owner.username, STOP_GRACE_SECONDS);
      await this.driver.removeContainer(owner.username);
      container = null;
    }
    if (!container) {
      this.runtimes.update(owner.id, { state: 'creating' });
      step('creating container');
      // Another network on the host may already use the user's /28 (another install, a VPN): move on.
      const avoid = new Set<number>();
      for (;;) {
        const spec = this.specFor(owner, record, image);
        // A fresh container gets a fresh model token; only its hash is kept.
        const token = `ccrt_${randomBytes(32).toString('base64url')}`;
        try {
          container = await this.driver.create({
            username: owner.username,
            image,
            subnetIndex: spec.subnetIndex,
            limits: this.driverLimits(record),
            env: { [PLATFORM_CONFIG_ENV]: JSON.stringify(spec.configFor(token)) },
            labels: routingLabels(this.settings.namePrefix, owner.username),
            specHash: spec.specHash,
          });
        } catch (error) {
          if (!(error instanceof SubnetTakenError) || avoid.size >= 64) throw error;
          avoid.add(error.subnetIndex);
          record = this.runtimes.ensure(owner.id, subnetCapacity(this.settings.subnetPool), avoid);
          continue;
        }
        this.runtimes.update(owner.id, { tokenHash: sha256(token), containerId: container.id });
        break;
      }
    }
    // Limits or defaults changed while it was stopped: the kept container takes them before it runs.
    else await this.driver.updateLimits(owner.username, this.driverLimits(record));
    this.runtimes.update(owner.id, { state: 'starting' });
    step('starting');
    await this.driver.start(owner.username, record.subnetIndex ?? 0);
    step('waiting for health');
    return this.waitHealthy(owner);
  }

  private async waitHealthy(owner: RuntimeOwner): Promise<RuntimeContainer> {
    const deadline = Date.now() + this.settings.startTimeoutSeconds * 1000;
    const restartsBefore = (await this.driver.find(owner.username))?.restartCount ?? 0;
    for (;;) {
      const container = await this.driver.find(owner.username);
      if (!container) throw new RuntimeStartError('The runtime container disappeared while starting.', '');
      // The restart policy hides a crash behind a new start: a restart during start-up is a crash.
      if (container.status === 'exited' || container.status === 'restarting' || container.restartCount > restartsBefore) {
        const logs = await this.lastLogs(owner.username);
        // Stop the crash loop; the user's next start tries again.
        await this.driver.stop(owner.username, 1);
        const stopped = await this.driver.find(owner.username);
        // The code is known when we saw it down; our own stop's code (SIGTERM) says nothing about the crash.
        const exitCode = container.exitCode;
        const cause =
          container.oomKilled || stopped?.oomKilled
            ? 'it ran out of memory'
            : exitCode !== null && exitCode !== 0
              ? `its process exited with code ${exitCode}`
              : 'its process kept exiting and being restarted';
        throw new RuntimeStartError(`The runtime stopped while starting: ${cause}.`, logs);
      }
      if (container.status === 'running' && container.address && (await this.probe(container.address))) return container;
      if (Date.now() > deadline) {
        throw new RuntimeStartError(`The runtime did not become healthy within ${this.settings.startTimeoutSeconds} s.`, await this.lastLogs(owner.username));
      }
      await sleep(HEALTH_POLL_MS);
    }
  }

  private async lastLogs(username: string): Promise<string> {
    try {
      const stream = await this.driver.logs(username, { tail: ERROR_LOG_LINES, follow: false });
      const chunks: Buffer[] = [];
      for await (const chunk of stream.pipe(redactingStream())) chunks.push(Buffer.from(chunk as Buffer));
      return Buffer.concat(chunks).toString('utf8');
    } catch {
      return '';
    }
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
        if (this.runtimes.find(owner.id)) this.runtimes.update(owner.id, { state: 'stopped', errorMessage: null, errorLogs: null });
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
        else if (this.runtimes.find(owner.id)) this.runtimes.update(owner.id, { state: 'absent', containerId: null, tokenHash: null, errorMessage: null, errorLogs: null });
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
        await this.driver.updateLimits(owner.username, this.driverLimits(wanted));
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
  async reconnectRunning(): Promise<string[]> {
    const reconnected: string[] = [];
    for (const container of await this.guard(() => this.driver.list())) {
      if (container.status !== 'running' && container.status !== 'restarting') continue;
      const record = this.runtimes.findByUsername(container.username);
      if (record?.subnetIndex == null) continue;
      try {
        await this.driver.connectPeers(container.username, record.subnetIndex);
        reconnected.push(container.username);
      } catch {
        // left for its next start
      }
    }
    return reconnected;
  }

  async logs(owner: RuntimeOwner, options: { tail: number; follow: boolean }): Promise<Readable> {
    return this.guard(async () => {
      const container = await this.driver.find(owner.username);
      if (!container) throw new AppError(404, 'not_found', 'This runtime has no container yet, so there are no logs.');
      return (await this.driver.logs(owner.username, options)).pipe(redactingStream());
    });
  }

  /**
   * Stops runtimes nobody used for `idleMinutes` (their volumes stay); 0 never stops anything.
   * Returns who was stopped. A runtime that fails to stop is left for the next sweep.
   */
  async stopIdle(idleMinutes: number, now = new Date()): Promise<string[]> {
    if (idleMinutes <= 0) return [];
    const idle = this.runtimes.listIdle(new Date(now.getTime() - idleMinutes * 60_000)).filter((owner) => !this.workInProgress.has(owner.id));
    const stopped: string[] = [];
    for (const owner of idle) {
      try {
        await this.stop(PLATFORM_CONTEXT, owner, 'idle');
        stopped.push(owner.username);
      } catch {
        // Docker away or the container busy: the next sweep tries again.
      }
    }
    return stopped;
  }

  /**
   * Marks work in progress inside the runtime until the returned function is called: an upload or
   * download that runs longer than the idle limit must not be cut off by the idle stop. Calling the
   * release more than once is harmless.
   */
  holdForWork(owner: RuntimeOwner): () => void {
    this.workInProgress.set(owner.id, (this.workInProgress.get(owner.id) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.workInProgress.get(owner.id) ?? 1) - 1;
      if (left > 0) this.workInProgress.set(owner.id, left);
      else this.workInProgress.delete(owner.id);
    };
  }

  recordActivity(owner: RuntimeOwner, now = new Date()): void {
    // Every proxied request and model call lands here: write at most once a minute per user.
    const last = this.activityNoted.get(owner.id) ?? 0;
    if (now.getTime() - last < ACTIVITY_WRITE_INTERVAL_MS) return;
    this.activityNoted.set(owner.id, now.getTime());
    if (this.runtimes.find(owner.id)) this.runtimes.update(owner.id, { lastActivityAt: now });
  }

  /**
   * The user is reaching their runtime through the proxy. A running one counts the request as use;
   * any other is started in the background (the counterpart of the idle stop) and the caller is told
   * to wait. Asked on every proxied request, so a runtime the database calls running is trusted
   * without asking Docker.
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
