/**
 * The audit screen's filter form as typed, and what it asks the API for. Dates are the reader's
 * own days: `from` starts at their local midnight, `to` (included) ends at the next one.
 */
import type { AuditFilter, AuditResult } from '../../lib/api/types';

export interface AuditForm {
  actor: string;
  action: string;
  target: string;
  result: '' | AuditResult;
  /** YYYY-MM-DD from <input type="date">, or ''. */
  from: string;
  to: string;
}

export const emptyAuditForm = (): AuditForm => ({ actor: '', action: '', target: '', result: '', from: '', to: '' });

/** Local midnight of a YYYY-MM-DD day, `days` later, as an ISO instant. */
function localMidnight(day: string, days = 0): string {
  const [year, month, date] = day.split('-').map(Number);
  return new Date(year!, month! - 1, date! + days).toISOString();
}

export function toAuditFilter(form: AuditForm): AuditFilter {
  const filter: AuditFilter = {};
  const actor = form.actor.trim();
  const action = form.action.trim();
  const target = form.target.trim();
  if (actor) filter.actor = actor;
  if (action) filter.action = action;
  if (target) filter.target = target;
  if (form.result) filter.result = form.result;
  if (form.from) filter.from = localMidnight(form.from);
  if (form.to) filter.to = localMidnight(form.to, 1);
  return filter;
}
