/**
 * Turning usage rows (one per UTC day and model, and user for admins) into what the usage
 * screens chart and tabulate. Pure functions: no API, no language.
 */
import type { UsageDay, UsageRow } from './api/types';

/** What a chart or table adds up. */
export type Metric = 'tokens' | 'costUsd' | 'requests';

/** Tokens are prompt + completion (cached tokens are part of the prompt). */
export function tokensOf(row: Pick<UsageDay, 'promptTokens' | 'completionTokens'>): number {
  return row.promptTokens + row.completionTokens;
}

export function metricOf(row: UsageDay | UsageRow, metric: Metric): number {
  return metric === 'tokens' ? tokensOf(row) : row[metric];
}

const DAY_MS = 86_400_000;

/** Every UTC day from `from` to `to`, both included (YYYY-MM-DD). */
export function dayRange(from: string, to: string): string[] {
  const start = Date.parse(`${from}T00:00:00Z`);
  const end = Date.parse(`${to}T00:00:00Z`);
  if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) return [];
  const days: string[] = [];
  for (let at = start; at <= end && days.length < 3660; at += DAY_MS) days.push(new Date(at).toISOString().slice(0, 10));
  return days;
}

/** The last `count` UTC days up to and including today. */
export function lastDays(count: number, now = new Date()): string[] {
  const today = now.toISOString().slice(0, 10);
  const first = new Date(Date.parse(`${today}T00:00:00Z`) - (count - 1) * DAY_MS).toISOString().slice(0, 10);
  return dayRange(first, today);
}

export interface Series {
  name: string;
  values: number[];
}

/**
 * One series per `group` (e.g. model) with a value for every day, biggest total first:
 * what a stacked bar chart by day needs. Days without rows count 0.
 */
export function seriesByDay<R extends UsageDay | UsageRow>(rows: readonly R[], days: readonly string[], group: (row: R) => string, metric: Metric): Series[] {
  const index = new Map(days.map((day, i) => [day, i]));
  const byGroup = new Map<string, number[]>();
  for (const row of rows) {
    const at = index.get(row.day);
    if (at === undefined) continue;
    const name = group(row);
    let values = byGroup.get(name);
    if (!values) byGroup.set(name, (values = days.map(() => 0)));
    values[at] = (values[at] ?? 0) + metricOf(row, metric);
  }
  const total = (values: number[]): number => values.reduce((sum, value) => sum + value, 0);
  return [...byGroup.entries()].map(([name, values]) => ({ name, values })).sort((a, b) => total(b.values) - total(a.values));
}

export interface UsageSum {
  key: string;
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  tokens: number;
  costUsd: number;
}

export type Grouping = 'user' | 'model' | 'day';

const keyOf: Record<Grouping, (row: UsageRow) => string> = {
  user: (row) => row.username,
  model: (row) => row.model,
  day: (row) => row.day,
};

/** Rows added up per user, model or day; days in order, the others biggest (by `metric`) first. */
export function sumBy(rows: readonly UsageRow[], grouping: Grouping, metric: Metric = 'tokens'): UsageSum[] {
  const sums = new Map<string, UsageSum>();
  for (const row of rows) {
    const key = keyOf[grouping](row);
    let sum = sums.get(key);
    if (!sum) sums.set(key, (sum = { key, requests: 0, errors: 0, promptTokens: 0, completionTokens: 0, cachedTokens: 0, tokens: 0, costUsd: 0 }));
    sum.requests += row.requests;
    sum.errors += row.errors;
    sum.promptTokens += row.promptTokens;
    sum.completionTokens += row.completionTokens;
    sum.cachedTokens += row.cachedTokens;
    sum.tokens += tokensOf(row);
    sum.costUsd += row.costUsd;
  }
  const list = [...sums.values()];
  return grouping === 'day' ? list.sort((a, b) => a.key.localeCompare(b.key)) : list.sort((a, b) => b[metric] - a[metric] || a.key.localeCompare(b.key));
}

/** How much of a limit is used, 0..1 (values over the limit stay 1); null when there is no limit (0). */
export function share(used: number, limit: number): number | null {
  if (limit <= 0) return null;
  return Math.min(1, Math.max(0, used / limit));
}
