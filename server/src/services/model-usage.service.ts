/**
 * What users spent on models and what they may spend: each user's limits (the configured defaults and
 * an admin's overrides, audited), their usage of the day and month, and everyone's by day for admins.
 */
import { NotFoundError, ValidationError } from '../errors/app-error';
import { effectiveLimits, LIMIT_KEYS, periodsAt, type LimitOverrides, type ModelLimits } from '../models/model-limits';
import type { ModelCatalogRepository } from '../repositories/model-catalog.repository';
import type { ModelCallRepository, Spend, UsageRow } from '../repositories/model-call.repository';
import type { UserRepository } from '../repositories/user.repository';
import type { AuditService } from './audit.service';
import type { RequestContext } from './request-context';

export interface LimitsView {
  defaults: ModelLimits;
  overrides: Partial<ModelLimits>;
  effective: ModelLimits;
}

const DAY_MS = 86_400_000;
const isoDay = (date: Date) => date.toISOString().slice(0, 10);

export class ModelUsageService {
  constructor(
    private readonly calls: ModelCallRepository,
    private readonly catalog: ModelCatalogRepository,
    private readonly users: UserRepository,
    private readonly audit: AuditService,
    private readonly defaults: ModelLimits,
  ) {}

  limitsFor(userId: number): ModelLimits {
    return effectiveLimits(this.defaults, this.catalog.limitOverrides(userId));
  }

  limitsView(userId: number): LimitsView {
    if (!this.users.findById(userId)) throw new NotFoundError('user');
    const stored = this.catalog.limitOverrides(userId);
    const overrides = Object.fromEntries(LIMIT_KEYS.filter((key) => stored?.[key] !== null && stored?.[key] !== undefined).map((key) => [key, stored![key]]));
    return { defaults: this.defaults, overrides, effective: effectiveLimits(this.defaults, stored) };
  }

  setOverrides(context: RequestContext, userId: number, overrides: Partial<LimitOverrides>): LimitsView {
    const user = this.users.findById(userId);
    if (!user) throw new NotFoundError('user');
    const before = this.limitsView(userId);
    const next = Object.fromEntries(LIMIT_KEYS.map((key) => [key, overrides[key] ?? null])) as LimitOverrides;
    this.catalog.setLimitOverrides(userId, next);
    const after = this.limitsView(userId);
    this.audit.record(context, 'user.model_limits', user.username, 'success', { before: before.overrides, after: after.overrides });
    return after;
  }

  /** One user's page: today and this month against their limits, and their calls by day and model. */
  mine(userId: number, days: number, now = new Date()) {
    const periods = periodsAt(now);
    const spend = (since: Date): Spend => this.calls.spentSince(userId, since);
    const from = new Date(periods.dayStart.getTime() - (days - 1) * DAY_MS);
    return {
      today: spend(periods.dayStart),
      month: spend(periods.monthStart),
      limits: this.limitsFor(userId),
      resets: { day: periods.nextDay.toISOString(), month: periods.nextMonth.toISOString() },
      days: this.calls.usageByDay(from, periods.nextDay, userId).map(({ userId: _userId, username: _username, errors: _errors, ...row }) => row),
    };
  }

  /** Everyone's calls by day, user and model; `to` is inclusive. Defaults to the last 30 days. */
  everyone(range: { from?: string; to?: string }, now = new Date()): { from: string; to: string; rows: UsageRow[]; totals: { requests: number; errors: number; tokens: number; costUsd: number } } {
    const today = periodsAt(now).dayStart;
    const to = range.to ? new Date(`${range.to}T00:00:00Z`) : today;
    const from = range.from ? new Date(`${range.from}T00:00:00Z`) : new Date(to.getTime() - 29 * DAY_MS);
    if (from > to) throw new ValidationError([{ field: 'from', message: 'must not be after "to"' }]);
    if (to.getTime() - from.getTime() > 366 * DAY_MS) throw new ValidationError([{ field: 'from', message: 'the range can be a year at most' }]);
    const rows = this.calls.usageByDay(from, new Date(to.getTime() + DAY_MS));
    const totals = rows.reduce(
      (sum, row) => ({ requests: sum.requests + row.requests, errors: sum.errors + row.errors, tokens: sum.tokens + row.promptTokens + row.completionTokens, costUsd: sum.costUsd + row.costUsd }),
      { requests: 0, errors: 0, tokens: 0, costUsd: 0 },
    );
    return { from: isoDay(from), to: isoDay(to), rows, totals };
  }
}
