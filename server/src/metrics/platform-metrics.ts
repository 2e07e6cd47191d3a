/**
 * The platform's Prometheus metrics: one registry per platform (tests run several in one process),
 * every metric defined here, written in Prometheus' text format by `render()`. The only importer of
 * prom-client. The parts of the platform feed it through the interfaces of observers.ts.
 *
 * Runtimes by state are read from the platform's own database when Prometheus scrapes (one grouped
 * query), never asked of Docker per runtime.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { START_FAILURE_CAUSES, type PlatformObserver, type SignInFailure, type StartFailureCause } from './observers';

export interface MetricsSources {
  /** Every state a runtime can be in, so a state with no runtime reads 0 rather than vanishing. */
  runtimeStates: readonly string[];
  /** How many runtimes are in each state now (states left out count 0). */
  runtimesByState(): { state: string; count: number }[];
}

/** Starts wait for OpenClaw's health (tens of seconds on a busy host); stops for its grace period. */
const RUNTIME_BUCKETS = [0.5, 1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300];
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class PlatformMetrics implements PlatformObserver {
  readonly registry = new Registry();
  private readonly startDuration: Histogram<never>;
  private readonly stopDuration: Histogram<'reason'>;
  private readonly startFailures: Counter<'cause'>;
  private readonly idleStops: Counter<never>;
  private readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  private readonly fileBytesTotal: Counter<'direction'>;
  private readonly signInFailures: Counter<'reason'>;
  private readonly modelRequests: Counter<'model' | 'outcome'>;
  private readonly modelTokens: Counter<'model' | 'kind'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'crewclaw_runtimes',
      help: 'Runtimes by state, as the platform records them (one per user who ever had one).',
      labelNames: ['state'],
      registers,
      collect() {
        const counts = new Map(sources.runtimesByState().map(({ state, count }) => [state, count]));
        for (const state of sources.runtimeStates) this.set({ state }, counts.get(state) ?? 0);
      },
    });
    this.startDuration = new Histogram({
      name: 'crewclaw_runtime_start_duration_seconds',
      help: 'Time from a start being asked for to a healthy runtime, for starts that ended running.',
      buckets: RUNTIME_BUCKETS,
      registers,
    });
    this.stopDuration = new Histogram({
      name: 'crewclaw_runtime_stop_duration_seconds',
      help: 'Time a stop took, by reason (user: a user or an admin; idle: the idle stop).',
      labelNames: ['reason'],
      buckets: RUNTIME_BUCKETS,
      registers,
    });
    this.startFailures = new Counter({
      name: 'crewclaw_runtime_start_failures_total',
      help: `Runtime starts that failed, by cause (${START_FAILURE_CAUSES.join(', ')}).`,
      labelNames: ['cause'],
      registers,
    });
    this.idleStops = new Counter({ name: 'crewclaw_runtime_idle_stops_total', help: 'Runtimes stopped by the idle stop.', registers });
    this.httpDuration = new Histogram({
      name: 'crewclaw_http_request_duration_seconds',
      help: 'HTTP requests answered, by method, route pattern and status, with their durations (the model endpoint included).',
      labelNames: ['method', 'route', 'status'],
      buckets: HTTP_BUCKETS,
      registers,
    });
    this.fileBytesTotal = new Counter({
      name: 'crewclaw_file_bytes_total',
      help: 'Bytes of workspace files received (in: uploads, edits) and sent (out: downloads, zips).',
      labelNames: ['direction'],
      registers,
    });
    this.signInFailures = new Counter({
      name: 'crewclaw_sign_in_failures_total',
      help: 'Failed sign-ins with a password, by reason (unknown_user, wrong_password, disabled).',
      labelNames: ['reason'],
      registers,
    });
    this.modelRequests = new Counter({
      name: 'crewclaw_model_requests_total',
      help: 'Model calls through the model endpoint, by model and outcome (ok, error, client_gone...).',
      labelNames: ['model', 'outcome'],
      registers,
    });
    this.modelTokens = new Counter({
      name: 'crewclaw_model_tokens_total',
      help: 'Tokens of model calls, by model and kind (prompt, completion, cached: the part of prompt read from the cache).',
      labelNames: ['model', 'kind'],
      registers,
    });
    // Series that exist before the first event read 0 at once, so rate() and alerts see them from the start.
    for (const cause of START_FAILURE_CAUSES) this.startFailures.labels({ cause }).inc(0);
    for (const reason of ['unknown_user', 'wrong_password', 'disabled'] satisfies SignInFailure[]) this.signInFailures.labels({ reason }).inc(0);
    for (const direction of ['in', 'out']) this.fileBytesTotal.labels({ direction }).inc(0);
    this.idleStops.inc(0);
  }

  /** The metrics in Prometheus' text format, and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  runtimeStarted(seconds: number): void {
    this.startDuration.observe(seconds);
  }

  runtimeStartFailed(cause: StartFailureCause): void {
    this.startFailures.inc({ cause });
  }

  runtimeStopped(seconds: number, reason: 'user' | 'idle'): void {
    this.stopDuration.observe({ reason }, seconds);
    if (reason === 'idle') this.idleStops.inc();
  }

  signInFailed(reason: SignInFailure): void {
    this.signInFailures.inc({ reason });
  }

  fileBytes(direction: 'in' | 'out', bytes: number): void {
    if (bytes > 0) this.fileBytesTotal.inc({ direction }, bytes);
  }

  modelCall(call: { model: string; outcome: string; promptTokens?: number | null; completionTokens?: number | null; cachedTokens?: number | null }): void {
    this.modelRequests.inc({ model: call.model, outcome: call.outcome });
    for (const [kind, tokens] of [['prompt', call.promptTokens], ['completion', call.completionTokens], ['cached', call.cachedTokens]] as const) {
      if (tokens) this.modelTokens.inc({ model: call.model, kind }, tokens);
    }
  }

  httpRequest(request: { method: string; route: string; status: number; seconds: number }): void {
    this.httpDuration.observe({ method: request.method, route: request.route, status: String(request.status) }, request.seconds);
  }
}
