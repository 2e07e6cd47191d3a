/** The append-only audit trail. */
import { desc, lt } from 'drizzle-orm';
import type { Db } from '../db/client';
import { auditLog } from '../db/schema';

export type AuditRecord = typeof auditLog.$inferSelect;
export type NewAuditRecord = Omit<typeof auditLog.$inferInsert, 'id'>;

export class AuditRepository {
  constructor(private readonly db: Db) {}

  append(entry: NewAuditRecord): void {
    this.db.insert(auditLog).values(entry).run();
  }

  /** Newest first; `beforeId` pages backwards. */
  list(options: { limit: number; beforeId?: number }): AuditRecord[] {
    const query = this.db.select().from(auditLog);
    const filtered = options.beforeId === undefined ? query : query.where(lt(auditLog.id, options.beforeId));
    return filtered.orderBy(desc(auditLog.id)).limit(options.limit).all();
  }
}
