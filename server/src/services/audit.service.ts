/** Writes the audit trail for every security-relevant action. */
import type { AuditFilter, AuditPage, AuditRecord, AuditRepository } from '../repositories/audit.repository';

export type { AuditFilter, AuditRecord };
import type { RequestContext } from './request-context';

export type AuditResult = 'success' | 'failure';

export class AuditService {
  constructor(private readonly audit: AuditRepository) {}

  record(context: RequestContext, action: string, target: string | null, result: AuditResult, detail?: Record<string, unknown>): void {
    this.audit.append({
      at: new Date(),
      actorId: context.actor?.id ?? null,
      actorName: context.actor?.username ?? context.systemActor ?? null,
      action,
      target,
      result,
      requestId: context.requestId ?? null,
      ip: context.ip ?? null,
      detail: detail ? JSON.stringify(detail) : null,
    });
  }

  /**
   * One page, newest first, with the cursors of its neighbours: `older` is the `before` of the next
   * older page and `newer` the `after` of the next newer one, each null at that end of the trail.
   */
  list(filter: AuditFilter, page: AuditPage): { entries: AuditRecord[]; older: number | null; newer: number | null } {
    const entries = this.audit.list(filter, page);
    const newest = entries[0];
    const oldest = entries.at(-1);
    if (!newest || !oldest) return { entries, older: null, newer: null };
    return {
      entries,
      older: this.audit.hasBeyond(filter, { before: oldest.id }) ? oldest.id : null,
      newer: this.audit.hasBeyond(filter, { after: newest.id }) ? newest.id : null,
    };
  }

  /**
   * Every matching entry, newest first, read a page at a time as the caller pulls, so an export of the
   * whole trail never sits in memory, and no read holds the database between pulls. Entries written
   * while it runs are left out.
   */
  *exportAll(filter: AuditFilter, pageSize = 500): Generator<AuditRecord> {
    let before: number | undefined;
    for (;;) {
      const page = this.audit.list(filter, { limit: pageSize, before });
      yield* page;
      if (page.length < pageSize) return;
      before = page[page.length - 1]!.id;
    }
  }

  /** Deletes entries older than `retentionDays` (0 keeps everything); returns how many went. */
  prune(retentionDays: number, now = new Date()): number {
    if (retentionDays <= 0) return 0;
    return this.audit.deleteBefore(new Date(now.getTime() - retentionDays * 86_400_000));
  }
}
