/**
 * Follows what happens to runtimes behind the platform's back, from Docker's event stream: a
 * runtime killed, removed, stopped from outside or crashed is recorded as such at once, so the
 * next visit through the proxy starts it again instead of being sent to a dead container, and the
 * user sees what happened (the cause, the time, what was done about it). A runtime that keeps
 * crashing is stopped, rather than left to flap between "running" and "error" under its restart
 * policy. Events for a user whose lifecycle operation is under way are left to that operation.
 *
 * Events lost while the stream was down are made up for on every (re)connection and by reconcile(),
 * which compares the database with what Docker runs.
 */
import type { RuntimeRecord, RuntimeRepository } from '../repositories/runtime.repository';
import type { ContainerEvent, RuntimeDriver } from '../runtimes/runtime-driver';
import type { AuditService } from './audit.service';
import type { KeyedLock } from './keyed-lock';
import { PLATFORM_CONTEXT } from './request-context';
import { describeExit, exitInWords, type ExitOutcome, type RuntimeExit } from './runtime-exit';
import type { RuntimeEvents } from './runtime-events';
import { limitsOf, type LimitDefaults, type RuntimeStatusReader } from './runtime-status';

/** Crashes this close together are one crash loop... */
const CRASH_WINDOW_MS = 10 * 60_000;
/** ...once there are this many. */
const CRASH_LOOP_COUNT = 3;
/** An out-of-memory kill followed by the main process's exit within this time is that exit's cause. */
const OOM_FOLLOW_MS = 2_000;

export interface WatcherHooks {
  /** Stops the container of a runtime that keeps crashing (under the user's lock). */
  halt(username: string): Promise<void>;
  /** The last log lines, redacted. */
  lastLogs(username: string): Promise<string>;
}

export class RuntimeWatcher {
  private readonly crashes = new Map<string, number[]>();
  private readonly ooms = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  /** One event at a time per user, in the order Docker sent them. */
  private readonly queues = new Map<string, Promise<void>>();
  private stop: (() => void) | null = null;

  constructor(
    private readonly driver: RuntimeDriver,
    private readonly runtimes: RuntimeRepository,
    private readonly lock: KeyedLock,
    private readonly status: RuntimeStatusReader,
    private readonly events: RuntimeEvents,
    private readonly audit: AuditService,
    private readonly defaults: LimitDefaults,
    private readonly hooks: WatcherHooks,
  ) {}

  /** Starts following Docker's events; failures along the way are retried by the driver. */
  begin(onError: (error: unknown) => void = () => undefined): void {
    if (this.stop) return;
    this.stop = this.driver.watch({
      onEvent: (event) => void this.enqueue(event.username, () => this.handle(event)).catch(onError),
      onConnected: () => void this.reconcile().catch(onError),
    });
  }

  end(): void {
    this.stop?.();
    this.stop = null;
    for (const { timer } of this.ooms.values()) clearTimeout(timer);
    this.ooms.clear();
  }

  /** Waits until the events received so far are handled (tests). */
  async settled(): Promise<void> {
    while (this.queues.size > 0) await Promise.all(this.queues.values());
  }

  private enqueue(username: string, work: () => Promise<void>): Promise<void> {
    const next = (this.queues.get(username) ?? Promise.resolve()).then(work);
    const tail = next.catch(() => undefined);
    this.queues.set(username, tail);
    void tail.then(() => {
      if (this.queues.get(username) === tail) this.queues.delete(username);
    });
    return next;
  }

  /**
   * Runtimes the database calls running (or coming back) that Docker no longer runs: recorded as
   * stopped or removed, as if their events had been seen. Returns whose state was corrected.
   */
  async reconcile(): Promise<string[]> {
    const corrected: string[] = [];
    for (const row of this.runtimes.listWithOwners()) {
      if (!this.believedUp(row.runtime)) continue;
      const { username } = row;
      await this.enqueue(username, async () => {
        if (this.lock.isBusy(username)) return;
        const container = await this.driver.find(username);
        if (container && container.status !== 'exited' && container.status !== 'created') return;
        const current = this.runtimes.find(row.runtime.userId);
        if (!current || !this.believedUp(current)) return;
        const exit = container ? describeExit({ exitCode: container.exitCode, oomKilled: container.oomKilled }) : describeExit({ exitCode: null, oomKilled: false, removed: true });
        this.record(current, username, { ...exit, outcome: container ? 'stopped' : 'removed', at: new Date() });
        corrected.push(username);
      });
    }
    return corrected;
  }

  private believedUp(row: RuntimeRecord): boolean {
    return row.state === 'running' || row.state === 'starting';
  }

  private async handle(event: ContainerEvent): Promise<void> {
    if (event.action === 'start') return;
    if (event.action === 'oom') return this.noteOom(event);
    const row = this.runtimes.findByUsername(event.username);
    // Our own operation is in charge (a start watches for crashes itself; a stop or a recreate
    // causes these very events), or the row speaks of another container.
    if (!row || this.lock.isBusy(event.username)) return;
    if (row.containerId && row.containerId !== event.containerId) return;
    const removed = describeExit({ exitCode: null, oomKilled: false, removed: true });
    if (event.action === 'destroy') {
      // Also after a kill already recorded as "stopped" (`docker rm -f` sends die, then destroy);
      // our own removals clear containerId first, so they never get here.
      if (row.containerId !== event.containerId || row.state === 'absent') return;
      this.status.forgetHealth(event.username);
      this.record(row, event.username, { ...removed, outcome: 'removed', at: event.at });
      return;
    }
    // We stopped it ourselves (the state says so before the lock is let go).
    if (!this.believedUp(row)) return;
    this.status.forgetHealth(event.username);
    const oom = this.ooms.get(event.username);
    this.clearOom(event.username);
    const container = await this.driver.find(event.username);
    if (!container) {
      this.record(row, event.username, { ...removed, outcome: 'removed', at: event.at });
      return;
    }
    const exit = describeExit({ exitCode: event.exitCode, oomKilled: Boolean(oom) || container.oomKilled });
    // Docker decides about a restart before it announces the exit: the container says which.
    const restarting = container.id === event.containerId && (container.status === 'restarting' || container.status === 'running');
    if (!restarting) {
      this.record(row, event.username, { ...exit, outcome: 'stopped', at: event.at });
      return;
    }
    const recent = [...(this.crashes.get(event.username) ?? []), event.at.getTime()].filter((at) => at > event.at.getTime() - CRASH_WINDOW_MS);
    this.crashes.set(event.username, recent);
    if (recent.length < CRASH_LOOP_COUNT) {
      this.record(row, event.username, { ...exit, outcome: 'restarted', at: event.at }, recent.length);
      return;
    }
    this.crashes.delete(event.username);
    const logs = await this.hooks.lastLogs(event.username);
    await this.hooks.halt(event.username);
    this.record(row, event.username, { ...exit, outcome: 'halted', at: event.at }, recent.length, logs);
  }

  /** An out-of-memory kill: the cause of the exit that follows, or news of its own if none does. */
  private noteOom(event: ContainerEvent): void {
    this.clearOom(event.username);
    const timer = setTimeout(() => {
      this.ooms.delete(event.username);
      void this.enqueue(event.username, () => {
        const row = this.runtimes.findByUsername(event.username);
        if (row && !this.lock.isBusy(event.username) && row.state === 'running') {
          this.record(row, event.username, { cause: 'out_of_memory', exitCode: null, signal: null, outcome: 'survived', at: event.at });
        }
        return Promise.resolve();
      });
    }, OOM_FOLLOW_MS);
    timer.unref();
    this.ooms.set(event.username, { at: event.at.getTime(), timer });
  }

  private clearOom(username: string): void {
    const pending = this.ooms.get(username);
    if (pending) clearTimeout(pending.timer);
    this.ooms.delete(username);
  }

  private record(row: RuntimeRecord, username: string, what: Omit<RuntimeExit, 'at' | 'memoryMb' | 'crashes'> & { at: Date }, crashes = 1, logs?: string): void {
    const exit: RuntimeExit = {
      ...what,
      at: what.at.toISOString(),
      memoryMb: what.cause === 'out_of_memory' ? limitsOf(row, this.defaults).memoryMb : null,
      crashes,
    };
    const message = exitInWords(exit);
    const state = STATE_AFTER[exit.outcome];
    this.runtimes.update(row.userId, {
      state: state ?? row.state,
      lastExit: JSON.stringify(exit),
      errorMessage: message,
      ...(exit.outcome === 'halted' && { errorLogs: logs ?? '' }),
      ...(exit.outcome === 'removed' && { containerId: null }),
    });
    this.audit.record(PLATFORM_CONTEXT, 'runtime.exit', username, 'failure', { cause: exit.cause, outcome: exit.outcome, exitCode: exit.exitCode, signal: exit.signal, crashes: exit.crashes });
    this.events.emit({ username, step: exit.outcome === 'halted' ? 'failed' : exit.outcome === 'restarted' ? 'crashed' : exit.outcome === 'survived' ? 'notice' : 'stopped', at: new Date().toISOString(), elapsedMs: 0, message });
  }
}

const STATE_AFTER: Record<ExitOutcome, RuntimeRecord['state'] | null> = {
  restarted: 'starting',
  stopped: 'stopped',
  removed: 'absent',
  halted: 'error',
  survived: null,
};
