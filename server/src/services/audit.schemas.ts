/** The rules for reading the audit trail: its filters, its page cursors. Strict: an unknown parameter is a 400. */
import { z } from 'zod';
import { AUDIT_RESULTS } from '../db/audit-log.table';
import type { AuditFilter } from '../repositories/audit.repository';

const DAY_MS = 86_400_000;

/**
 * A moment as an ISO 8601 date-time with its offset, or a date alone (a UTC day). `end` makes a date
 * alone stand for the end of its day, so `to=2026-03-01` takes in all of March 1st.
 */
const instant = (end: boolean) =>
  z.union([z.iso.datetime({ offset: true }), z.iso.date()], { error: 'must be an ISO date (2026-03-01) or date-time (2026-03-01T08:00:00Z)' }).transform((value) => {
    const at = new Date(value.length === 10 ? `${value}T00:00:00Z` : value);
    return end && value.length === 10 ? new Date(at.getTime() + DAY_MS) : at;
  });

const text = (max: number) => z.string({ error: 'must be given once' }).trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
const cursor = z.coerce.number({ error: 'must be an entry id' }).int('must be an entry id').min(1, 'must be an entry id');

/** Filters shared by the list and the exports. */
const filterFields = {
  actor: text(64).optional(),
  // `user.create` is one action; `runtime.` (or `runtime.*`) every action under runtime.
  action: text(100)
    .regex(/^[a-z0-9_.]+\*?$/i, 'must be an action such as user.create, or a prefix such as runtime.')
    .optional(),
  target: text(256).optional(),
  result: z.enum(AUDIT_RESULTS, { error: `must be one of ${AUDIT_RESULTS.join(', ')}` }).optional(),
  from: instant(false).optional(),
  to: instant(true).optional(),
};

type FilterInput = z.output<z.ZodObject<typeof filterFields>>;

function toFilter(input: FilterInput): AuditFilter {
  const { action, ...rest } = input;
  if (action === undefined) return rest;
  const prefix = action.endsWith('*') ? action.slice(0, -1) : action.endsWith('.') ? action : null;
  return prefix === null ? { ...rest, action } : { ...rest, actionPrefix: prefix };
}

const fromBeforeTo = (input: FilterInput) => !(input.from && input.to && input.from >= input.to);
const rangeIssue = { message: 'must be later than from', path: ['to'] };

export const auditExportSchema = z
  .strictObject(filterFields)
  .refine(fromBeforeTo, rangeIssue)
  .transform(toFilter);

export const auditListSchema = z
  .strictObject({
    ...filterFields,
    limit: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(500, 'must be at most 500').default(100),
    // Newest first: `before` pages towards older entries, `after` back towards newer ones.
    before: cursor.optional(),
    after: cursor.optional(),
  })
  .refine(fromBeforeTo, rangeIssue)
  .refine((input) => input.before === undefined || input.after === undefined, { message: 'cannot be given with before', path: ['after'] })
  .transform(({ limit, before, after, ...filters }) => ({ filter: toFilter(filters), page: { limit, before, after } }));
