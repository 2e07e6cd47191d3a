/**
 * Per-user model limits and the calendar they count on. Days and months are UTC: one clock for every
 * user and every admin, whatever their browser's time zone; the usage pages say so.
 */
export interface ModelLimits {
  /** Prompt plus completion tokens per UTC day; 0 = no limit. */
  dailyTokens: number;
  monthlyTokens: number;
  /** US dollars, by the prices LiteLLM knows or an admin set; 0 = no limit. */
  dailyCostUsd: number;
  monthlyCostUsd: number;
  requestsPerMinute: number;
  /** Calls of one user running at once. */
  concurrentRequests: number;
}

export const LIMIT_KEYS = ['dailyTokens', 'monthlyTokens', 'dailyCostUsd', 'monthlyCostUsd', 'requestsPerMinute', 'concurrentRequests'] as const satisfies readonly (keyof ModelLimits)[];

export type LimitOverrides = { [K in keyof ModelLimits]: ModelLimits[K] | null };

export function effectiveLimits(defaults: ModelLimits, overrides: Partial<LimitOverrides> | undefined): ModelLimits {
  const limits = { ...defaults };
  for (const key of LIMIT_KEYS) {
    const value = overrides?.[key];
    if (value !== null && value !== undefined) limits[key] = value;
  }
  return limits;
}

export interface Periods {
  dayStart: Date;
  nextDay: Date;
  monthStart: Date;
  nextMonth: Date;
}

export function periodsAt(now: Date): Periods {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const d = now.getUTCDate();
  return { dayStart: new Date(Date.UTC(y, m, d)), nextDay: new Date(Date.UTC(y, m, d + 1)), monthStart: new Date(Date.UTC(y, m, 1)), nextMonth: new Date(Date.UTC(y, m + 1, 1)) };
}
