/** Writes the audit trail for every security-relevant action. */
import type { AuditRecord, AuditRepository } from '../repositories/audit.repository';

export type { AuditRecord };
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

  list(options: { limit: number; beforeId?: number }): AuditRecord[] {
    return this.audit.list(options);
  }
}
