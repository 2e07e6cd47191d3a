/**
 * Readiness (GET /api/ready): whether each dependency the platform needs answers, by name, so an
 * operator sees which one is down. Liveness (/api/health) is not here: it depends on nothing.
 *
 * - database: open and migrated to this version's schema.
 * - docker: the engine answers a ping (through the runtime driver).
 * - litellm: the model sidecar's state; none set up yet (no model turned on) counts as ready.
 * - traefik: the proxy's container runs, as the proxy watcher last saw it (only when the platform knows
 *   its container: PROXY_CONTAINER). Whether Traefik routes is not something the control plane can see
 *   from behind it; its own healthcheck (compose.yaml, traefik healthcheck --ping) covers that.
 *
 * Docker and LiteLLM answers are kept a few seconds: a load balancer or Prometheus asking every second
 * must not turn into a ping per request.
 */
import type { RuntimeDriver } from '../runtimes/runtime-driver';
import type { GatewayStatus } from './litellm-sidecar';

export interface ReadinessCheck {
  status: 'ready' | 'not_ready';
  /** Why it is not ready, or what "ready" means here when it is not plain (LiteLLM not set up). */
  message?: string;
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, ReadinessCheck>;
  /** One sentence naming what is not ready; null when all are. */
  message: string | null;
}

export interface ReadinessSources {
  /** The database is open and fully migrated. */
  database(): boolean;
  driver: Pick<RuntimeDriver, 'ping'>;
  litellm(): Promise<GatewayStatus>;
  /** The proxy's container, when the platform knows it. */
  proxy: { state(): Promise<'running' | 'missing' | 'unknown'> } | null;
}

export interface ReadinessOptions {
  /** How long a Docker or LiteLLM answer is kept. */
  cacheMs: number;
  /** How long a Docker ping may take before Docker counts as not ready. */
  timeoutMs: number;
}

const NAMES: Record<string, string> = { database: 'the database', docker: 'Docker', litellm: 'LiteLLM', traefik: 'Traefik' };

export class ReadinessService {
  private readonly docker: () => Promise<ReadinessCheck>;
  private readonly litellm: () => Promise<ReadinessCheck>;

  constructor(
    private readonly sources: ReadinessSources,
    options: ReadinessOptions = { cacheMs: 5_000, timeoutMs: 2_000 },
  ) {
    this.docker = keptFor(options.cacheMs, () => this.pingDocker(options.timeoutMs));
    this.litellm = keptFor(options.cacheMs, () => this.askLitellm());
  }

  async check(): Promise<Readiness> {
    const database: ReadinessCheck = this.sources.database() ? { status: 'ready' } : { status: 'not_ready', message: 'The database is not open or not migrated yet.' };
    const [docker, litellm, traefik] = await Promise.all([this.docker(), this.litellm(), this.proxyCheck()]);
    const checks: Record<string, ReadinessCheck> = { database, docker, litellm, ...(traefik && { traefik }) };
    const down = Object.entries(checks).filter(([, check]) => check.status !== 'ready');
    const message = down.length === 0 ? null : `Not ready: ${down.map(([name, check]) => `${NAMES[name] ?? name} (${check.message ?? 'not ready'})`).join('; ')}`;
    return { ready: down.length === 0, checks, message };
  }

  private async pingDocker(timeoutMs: number): Promise<ReadinessCheck> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`Docker did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    try {
      await Promise.race([this.sources.driver.ping(), timeout]);
      return { status: 'ready' };
    } catch {
      // Not the error's own words: this answer is public, and they name sockets and addresses.
      return { status: 'not_ready', message: 'Docker does not answer.' };
    } finally {
      clearTimeout(timer);
    }
  }

  private async askLitellm(): Promise<ReadinessCheck> {
    try {
      const status = await this.sources.litellm();
      if (status.state === 'ready') return { status: 'ready' };
      // Nothing to serve yet, so nothing is missing: the platform works without models.
      if (status.state === 'not_set_up') return { status: 'ready', message: 'No model is set up yet.' };
      return { status: 'not_ready', message: status.state === 'restarting' ? 'LiteLLM is restarting.' : 'LiteLLM does not answer.' };
    } catch {
      return { status: 'not_ready', message: 'LiteLLM does not answer.' };
    }
  }

  private async proxyCheck(): Promise<ReadinessCheck | null> {
    if (!this.sources.proxy) return null;
    const state = await this.sources.proxy.state();
    if (state === 'running') return { status: 'ready' };
    return { status: 'not_ready', message: state === 'missing' ? 'Its container is not running.' : 'Docker did not say whether its container runs.' };
  }
}

/** `work`'s answer, asked again only once it is older than `ms`; callers meanwhile share one call. */
function keptFor<T>(ms: number, work: () => Promise<T>): () => Promise<T> {
  let kept: { at: number; answer: Promise<T> } | null = null;
  return () => {
    if (!kept || Date.now() - kept.at > ms) kept = { at: Date.now(), answer: work() };
    return kept.answer;
  };
}
