/**
 * Memory and CPU of running runtimes, sampled in the background so that reading a runtime's state
 * never waits for Docker's stats (Docker 20.10 answers them only on its once-a-second tick, which
 * held every status read for about a second). Only runtimes someone looked at lately are sampled:
 * nobody watching, no sampling, so idle runtimes cost the engine nothing.
 */
import type { RuntimeDriver, RuntimeUsage } from '../runtimes/runtime-driver';

export interface UsageSamplerOptions {
  /** How often watched runtimes are sampled; also the window CPU % is averaged over. */
  intervalMs: number;
  /** A runtime is sampled for this long after its state was last read. */
  watchMs: number;
  /** Samples taken at once, so 100 runtimes do not mean 100 simultaneous stats calls. */
  concurrency: number;
}

const DEFAULTS: UsageSamplerOptions = { intervalMs: 5_000, watchMs: 60_000, concurrency: 8 };

export class RuntimeUsageSampler {
  private readonly latest = new Map<string, RuntimeUsage>();
  private readonly watchedAt = new Map<string, number>();
  private readonly options: UsageSamplerOptions;
  private timer: NodeJS.Timeout | null = null;
  private sampling: Promise<void> | null = null;

  constructor(
    private readonly driver: RuntimeDriver,
    options: Partial<UsageSamplerOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /**
   * The last sample of a running runtime (null until the first one is in), and a note that someone
   * is looking: it is sampled from now on, the first time right away.
   */
  read(username: string): RuntimeUsage | null {
    const fresh = !this.watchedAt.has(username);
    this.watchedAt.set(username, Date.now());
    if (fresh) void this.sample([username]);
    this.schedule();
    return this.latest.get(username) ?? null;
  }

  /** The runtime is not running: its figures are stale. */
  forget(username: string): void {
    this.latest.delete(username);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.watchedAt.clear();
  }

  /** Waits for the sampling under way, if any (tests). */
  async settled(): Promise<void> {
    await this.sampling;
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const cutoff = Date.now() - this.options.watchMs;
      for (const [username, at] of this.watchedAt) {
        if (at < cutoff) {
          this.watchedAt.delete(username);
          this.latest.delete(username);
        }
      }
      if (this.watchedAt.size === 0) return;
      void this.sample([...this.watchedAt.keys()]).finally(() => this.schedule());
    }, this.options.intervalMs);
    this.timer.unref();
  }

  private sample(usernames: string[]): Promise<void> {
    const queue = [...usernames];
    const worker = async () => {
      for (let username = queue.shift(); username !== undefined; username = queue.shift()) {
        try {
          const usage = await this.driver.usage(username);
          if (usage) this.latest.set(username, usage);
          else this.latest.delete(username);
        } catch {
          // Docker away or the container gone: the last figures stay until the state says otherwise.
        }
      }
    };
    const run = Promise.all(Array.from({ length: Math.min(this.options.concurrency, queue.length) }, worker)).then(() => undefined);
    this.sampling = run;
    return run;
  }
}
