/**
 * Numbers, money and days in the reader's language (Intl). Each call reads the current
 * locale, so templates and `$derived` values that use these follow a language switch.
 */
import { getLocale } from './i18n/index.svelte';

export function formatNumber(value: number): string {
  return new Intl.NumberFormat(getLocale(), { maximumFractionDigits: 2 }).format(value);
}

/** Short, for chart axes: 1.2K / 1.2万. */
export function formatCompact(value: number): string {
  return new Intl.NumberFormat(getLocale(), { notation: 'compact', maximumFractionDigits: 1 }).format(value);
}

/** Short dollars, for chart axes: $0.05 / $1.5K. */
export function formatUsdCompact(value: number): string {
  return new Intl.NumberFormat(getLocale(), { style: 'currency', currency: 'USD', notation: 'compact', maximumSignificantDigits: 2 }).format(value);
}

/** US dollars; amounts under a dollar with four decimals (a single call often costs a fraction of a cent). */
export function formatUsd(value: number): string {
  const digits = value !== 0 && Math.abs(value) < 1 ? 4 : 2;
  return new Intl.NumberFormat(getLocale(), { style: 'currency', currency: 'USD', minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
}

/** A price as the admin typed it (USD per million tokens): at least cents, up to six decimals. */
export function formatPrice(value: number): string {
  return new Intl.NumberFormat(getLocale(), { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 6 }).format(value);
}

/** A UTC day (YYYY-MM-DD) as a short date, e.g. "Mar 5" / "3月5日"; with the year when `year`. */
export function formatDay(day: string, year = false): string {
  const date = new Date(`${day}T00:00:00Z`);
  if (Number.isNaN(date.getTime())) return day;
  return new Intl.DateTimeFormat(getLocale(), { timeZone: 'UTC', month: 'short', day: 'numeric', ...(year ? { year: 'numeric' } : {}) }).format(date);
}

export function formatMs(ms: number): string {
  return new Intl.NumberFormat(getLocale(), { style: 'unit', unit: 'millisecond', unitDisplay: 'short', maximumFractionDigits: 0 }).format(ms);
}

/**
 * A number typed into a form field: `undefined` when the field is empty, NaN when it is not
 * a number (or negative, or not whole when `whole`). Accepts a decimal comma.
 */
export function parseAmount(text: string, whole = false): number | undefined {
  const trimmed = text.trim().replace(',', '.');
  if (trimmed === '') return undefined;
  const value = Number(trimmed);
  if (!Number.isFinite(value) || value < 0 || (whole && !Number.isInteger(value))) return NaN;
  return value;
}
