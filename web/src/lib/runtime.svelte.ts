/**
 * The signed-in user's runtime as the runtime card shows it: the last known state,
 * the steps of the operation in progress, and start / stop / restart.
 *
 * Sources, in order of trust: the answer of our own start/stop/restart; the
 * `state` event that opens every (re)connection of the events stream; GET /api/runtime,
 * polled while something is in progress (in case the stream is buffered or down) and now
 * and then while running (memory and CPU). Steps move the shown state along between those.
 *
 * Errors: `loadError` when the state could not be read (e.g. 503, the container engine
 * is away), `actionError` when the last button press failed. Both are raw; the card turns
 * them into text with errorMessage(), so the text follows the language.
 */
import { api } from './api/client';
import type { Runtime, RuntimeState, RuntimeStepEvent } from './api/types';

export type RuntimeAction = 'start' | 'stop' | 'restart';

/**
 * Steps after which the operation is over and the full state is worth re-reading; 'crashed' and
 * 'notice' come from the platform noticing something done behind its back (the state tells what).
 */
const FINAL_STEPS = new Set(['ready', 'stopped', 'failed', 'crashed', 'notice']);

/** What a step says about the state meanwhile (null: re-read it instead). */
const STEP_STATE: Record<string, RuntimeState> = {
  'creating container': 'creating',
  starting: 'starting',
  'waiting for health': 'starting',
  'rolling back': 'starting',
  crashed: 'starting',
  stopping: 'stopping',
  stopped: 'stopped',
  ready: 'running',
};

const TRANSITIONAL: readonly RuntimeState[] = ['creating', 'starting', 'stopping'];
const TICK_MS = 3_000;
const USAGE_REFRESH_MS = 15_000;
const RECONNECT_MS = 10_000;

export function isTransitional(state: RuntimeState | undefined): boolean {
  return state !== undefined && TRANSITIONAL.includes(state);
}

export class RuntimeController {
  runtime = $state<Runtime | null>(null);
  loadError = $state<unknown>(null);
  actionError = $state<unknown>(null);
  busy = $state<RuntimeAction | null>(null);
  steps = $state<RuntimeStepEvent[]>([]);

  #closeEvents: (() => void) | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #reconnect: ReturnType<typeof setTimeout> | null = null;
  #lastRead = 0;
  #reading = false;

  /** Opens the events stream and the polling; returns the function that stops both. */
  connect(): () => void {
    this.#open();
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    return () => {
      this.#closeEvents?.();
      this.#closeEvents = null;
      if (this.#timer) clearInterval(this.#timer);
      if (this.#reconnect) clearTimeout(this.#reconnect);
    };
  }

  #open(): void {
    this.#closeEvents?.();
    this.#closeEvents = api.runtimeEvents({
      onState: (runtime) => this.#apply(runtime),
      onStep: (step) => this.#step(step),
      onClosed: () => {
        // EventSource hides the status (401? 503?): a plain read tells, and shows it.
        void this.refresh();
        if (this.#reconnect) clearTimeout(this.#reconnect);
        this.#reconnect = setTimeout(() => this.#open(), RECONNECT_MS);
      },
    });
  }

  /** Re-reads the state; failures land in `loadError`. */
  async refresh(): Promise<void> {
    if (this.#reading) return;
    this.#reading = true;
    try {
      this.#apply(await api.runtime());
    } catch (error) {
      this.loadError = error;
    } finally {
      this.#reading = false;
    }
  }

  /** Starts over after a failed read: a fresh stream (which brings a fresh state). */
  retry(): void {
    this.loadError = null;
    this.#open();
    void this.refresh();
  }

  #apply(runtime: Runtime): void {
    this.runtime = runtime;
    this.loadError = null;
    this.#lastRead = Date.now();
  }

  #step(step: RuntimeStepEvent): void {
    const last = this.steps.at(-1);
    // A new operation someone else began (the platform on a visit to /u/<me>, idle stop):
    // start a fresh list. Our own press already cleared it, and keeps a restart in one list.
    if (!this.busy && last && FINAL_STEPS.has(last.step)) this.steps = [step];
    else this.steps = [...this.steps, step];

    const state = STEP_STATE[step.step];
    if (this.runtime && state) this.runtime = { ...this.runtime, state, error: state === 'running' || state === 'stopped' ? null : this.runtime.error };
    if (FINAL_STEPS.has(step.step) && !this.busy) void this.refresh();
  }

  #tick(): void {
    if (this.busy || document.visibilityState !== 'visible') return;
    const state = this.runtime?.state;
    // Docker may not have usage figures the moment a container is up: ask again soon.
    const usageDue = state === 'running' && (this.runtime?.memoryBytes == null || Date.now() - this.#lastRead >= USAGE_REFRESH_MS);
    const due = isTransitional(state) || usageDue;
    if (due) void this.refresh();
  }

  /**
   * Runs one operation; the others wait. Resolves when the server answered (the
   * runtime then is running, stopped or in error), never rejects.
   */
  async run(action: RuntimeAction): Promise<void> {
    if (this.busy) return;
    this.busy = action;
    this.actionError = null;
    this.steps = [];
    try {
      const call = action === 'start' ? api.startRuntime : action === 'stop' ? api.stopRuntime : api.restartRuntime;
      this.#apply(await call());
    } catch (error) {
      this.actionError = error;
      await this.refresh();
    } finally {
      this.busy = null;
    }
  }
}
