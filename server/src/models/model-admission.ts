/**
 * Which model calls may start, per user: requests per minute, calls at once, and the token and cost
 * budgets of the day and the month, held under concurrency.
 *
 * Spend is known only when a call ends, so each running call reserves its worst case: its prompt (every
 * byte of it, an upper bound on its tokens) plus the most it may answer (its max_tokens, else the model's).
 * A call starts when the budget has room for it next to what is spent and reserved; while other calls of
 * the user run, it waits for them to end rather than be refused. A call alone may start with any budget
 * left: so recorded spend passes a budget by one call's worth at most. Cost is reserved only for models
 * whose price is known; LiteLLM's retries and fallbacks are one call to us.
 *
 * The control plane is one process, so the reservations live in memory; what was spent is read from
 * SQLite each time, which makes a restart lose nothing but the reservations of calls that died with it.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError, ClientGoneError } from '../errors/app-error';
import { periodsAt, type ModelLimits } from './model-limits';

export interface Spent {
  tokens: number;
  costUsd: number;
}

export interface SpendReader {
  since(userId: number, since: Date): Spent;
}

export interface CallEstimate {
  tokens: number;
  costUsd: number;
}

/** A started call's place in its user's budget; end() it exactly once, after its spend is recorded. */
export interface AdmissionTicket {
  end(): void;
}

interface UserLoad {
  running: number;
  reservedTokens: number;
  reservedCostUsd: number;
  /** Calls waiting for a running one to end. */
  waiters: Set<() => void>;
}

/** Over a limit: OpenAI's 429, a Retry-After when waiting helps, and words that say which limit. */
export class ModelLimitError extends AppError {
  constructor(code: string, message: string, retryAfterSeconds: number | null) {
    super(429, code, message, retryAfterSeconds === null ? {} : { headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) } });
  }
}

const BUDGETS = [
  { key: 'dailyTokens', period: 'day', measure: 'tokens', words: 'daily token budget' },
  { key: 'monthlyTokens', period: 'month', measure: 'tokens', words: 'monthly token budget' },
  { key: 'dailyCostUsd', period: 'day', measure: 'costUsd', words: 'daily model budget' },
  { key: 'monthlyCostUsd', period: 'month', measure: 'costUsd', words: 'monthly model budget' },
] as const;

const formatLimit = (measure: 'tokens' | 'costUsd', value: number) => (measure === 'tokens' ? `${value.toLocaleString('en-US')} tokens` : `$${value.toFixed(2)}`);

function inWords(seconds: number): string {
  if (seconds < 90) return `${Math.ceil(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} days`;
}

export class ModelAdmission {
  private readonly loads = new Map<number, UserLoad>();
  /** One window limiter per distinct requests-per-minute figure (users may have their own). */
  private readonly perMinute = new Map<number, RateLimiterMemory>();

  constructor(
    private readonly spend: SpendReader,
    private readonly options: { maxWaitMs: number; now?: () => Date } = { maxWaitMs: 60_000 },
  ) {}

  /** How many calls of this user run now (for the usage page and the tests). */
  running(userId: number): number {
    return this.loads.get(userId)?.running ?? 0;
  }

  async admit(userId: number, limits: ModelLimits, estimate: CallEstimate, signal: AbortSignal): Promise<AdmissionTicket> {
    await this.countRequest(userId, limits.requestsPerMinute);
    const deadline = Date.now() + this.options.maxWaitMs;
    let load: UserLoad;
    for (;;) {
      if (signal.aborted) throw new ClientGoneError();
      // Looked up each time: the entry of a user whose calls all ended is dropped while others wait.
      load = this.loadOf(userId);
      if (limits.concurrentRequests > 0 && load.running >= limits.concurrentRequests) {
        throw new ModelLimitError(
          'too_many_concurrent_requests',
          `You have ${load.running} model requests running at once, the most allowed for you. Try again when one has finished.`,
          2,
        );
      }
      const verdict = this.budgetVerdict(userId, limits, load, estimate);
      if (verdict === 'start') break;
      // Running calls hold reservations that may turn out smaller than feared: wait for one to end.
      if (Date.now() >= deadline) {
        throw new ModelLimitError('budget_reserved', 'Your model budget is almost used up and your other running requests may use the rest. Try again when they have finished.', 5);
      }
      await this.nextEnd(load, deadline - Date.now(), signal);
    }
    const held = load;
    held.running += 1;
    held.reservedTokens += estimate.tokens;
    held.reservedCostUsd += estimate.costUsd;
    let ended = false;
    return {
      end: () => {
        if (ended) return;
        ended = true;
        held.running -= 1;
        held.reservedTokens -= estimate.tokens;
        held.reservedCostUsd -= estimate.costUsd;
        if (held.running === 0 && this.loads.get(userId) === held) this.loads.delete(userId);
        for (const wake of [...held.waiters]) wake();
      },
    };
  }

  private loadOf(userId: number): UserLoad {
    let load = this.loads.get(userId);
    if (!load) {
      load = { running: 0, reservedTokens: 0, reservedCostUsd: 0, waiters: new Set() };
      this.loads.set(userId, load);
    }
    return load;
  }

  /** 'start', 'wait' (reservations of running calls are in the way), or throws: a budget is spent. */
  private budgetVerdict(userId: number, limits: ModelLimits, load: UserLoad, estimate: CallEstimate): 'start' | 'wait' {
    const now = this.options.now?.() ?? new Date();
    const periods = periodsAt(now);
    const spentIn = { day: null as Spent | null, month: null as Spent | null };
    let wait = false;
    for (const budget of BUDGETS) {
      const limit = limits[budget.key];
      if (limit <= 0) continue;
      const spent = (spentIn[budget.period] ??= this.spend.since(userId, budget.period === 'day' ? periods.dayStart : periods.monthStart))[budget.measure];
      if (spent >= limit) {
        const resetAt = budget.period === 'day' ? periods.nextDay : periods.nextMonth;
        const seconds = (resetAt.getTime() - now.getTime()) / 1000;
        throw new ModelLimitError(
          'budget_exceeded',
          `Your ${budget.words} (${formatLimit(budget.measure, limit)}) is used up. It resets at ${resetAt.toISOString().replace('.000Z', 'Z')} (in ${inWords(seconds)}); an admin can raise it.`,
          seconds,
        );
      }
      const reserved = budget.measure === 'tokens' ? load.reservedTokens : load.reservedCostUsd;
      const needed = budget.measure === 'tokens' ? estimate.tokens : estimate.costUsd;
      if (load.running > 0 && spent + reserved + needed > limit) wait = true;
    }
    return wait ? 'wait' : 'start';
  }

  private nextEnd(load: UserLoad, timeoutMs: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const settle = (gone: boolean) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        load.waiters.delete(wake);
        if (gone) reject(new ClientGoneError());
        else resolve();
      };
      const wake = () => settle(false);
      const onAbort = () => settle(true);
      const timer = setTimeout(wake, Math.max(0, timeoutMs));
      load.waiters.add(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async countRequest(userId: number, perMinute: number): Promise<void> {
    if (perMinute <= 0) return;
    let limiter = this.perMinute.get(perMinute);
    if (!limiter) {
      limiter = new RateLimiterMemory({ points: perMinute, duration: 60 });
      this.perMinute.set(perMinute, limiter);
    }
    try {
      await limiter.consume(String(userId));
    } catch (verdict) {
      if (!(verdict instanceof RateLimiterRes)) throw verdict;
      throw new ModelLimitError(
        'rate_limit_exceeded',
        `You sent more than ${perMinute} model requests in a minute, the most allowed for you. Try again in ${Math.ceil(verdict.msBeforeNext / 1000)} s.`,
        verdict.msBeforeNext / 1000,
      );
    }
  }
}
