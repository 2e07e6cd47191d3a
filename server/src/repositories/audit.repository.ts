/** The append-only audit trail: writing it, reading it back filtered and in pages, and pruning its old end. */
import { and, asc, desc, eq, gt, gte, lt, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client';
import { auditLog, type AUDIT_RESULTS } from '../db/schema';

export type AuditRecord = typeof auditLog.$inferSelect;
export type NewAuditRecord = Omit<typeof auditLog.$inferInsert, 'id'>;

/** Every field narrows; none set means the whole trail. `to` is exclusive. */
export interface AuditFilter {
  actor?: string;
  action?: string;
  /** Actions starting with this, compared exactly (no LIKE: `_` is common in action names). */
  actionPrefix?: string;
  target?: string;
  result?: (typeof AUDIT_RESULTS)[number];
  from?: Date;
  to?: Date;
}

export interface AuditPage {
  limit: number;
  /** Entries older than this id. */
  before?: number;
  /** Entries newer than this id (the `limit` oldest of them). */
  after?: number;
}

function conditions(filter: AuditFilter): SQL[] {
  const where: SQL[] = [];
  if (filter.actor !== undefined) where.push(eq(auditLog.actorName, filter.actor));
  if (filter.action !== undefined) where.push(eq(auditLog.action, filter.action));
  if (filter.actionPrefix !== undefined) where.push(sql`substr(${auditLog.action}, 1, ${filter.actionPrefix.length}) = ${filter.actionPrefix}`);
  if (filter.target !== undefined) where.push(eq(auditLog.target, filter.target));
  if (filter.result !== undefined) where.push(eq(auditLog.result, filter.result));
  if (filter.from !== undefined) where.push(gte(auditLog.at, filter.from));
  if (filter.to !== undefined) where.push(lt(auditLog.at, filter.to));
  return where;
}

export class AuditRepository {
  constructor(private readonly db: Db) {}

  append(entry: NewAuditRecord): void {
    this.db.insert(auditLog).values(entry).run();
  }

  /** Newest first, whichever way the page goes. */
  list(filter: AuditFilter, page: AuditPage): AuditRecord[] {
    const where = conditions(filter);
    if (page.after !== undefined) {
      const newer = this.db.select().from(auditLog).where(and(...where, gt(auditLog.id, page.after))).orderBy(asc(auditLog.id)).limit(page.limit).all();
      return newer.reverse();
    }
    if (page.before !== undefined) where.push(lt(auditLog.id, page.before));
    return this.db.select().from(auditLog).where(and(...where)).orderBy(desc(auditLog.id)).limit(page.limit).all();
  }

  /** Whether any entry matching the filter is older (`before`) or newer (`after`) than an id. */
  hasBeyond(filter: AuditFilter, side: { before: number } | { after: number }): boolean {
    const edge = 'before' in side ? lt(auditLog.id, side.before) : gt(auditLog.id, side.after);
    return this.db.select({ id: auditLog.id }).from(auditLog).where(and(...conditions(filter), edge)).limit(1).all().length > 0;
  }

  /** Deletes entries written before a moment; returns how many. */
  deleteBefore(moment: Date): number {
    return this.db.delete(auditLog).where(lt(auditLog.at, moment)).run().changes;
  }
}
