import { Router } from 'express';
import { z } from 'zod';
import { requireAdmin } from '../../auth/guards';
import type { AuditService } from '../../services/audit.service';
import { parseInput } from '../../services/validate';
import { toAuditDto } from '../dto';

const auditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  before: z.coerce.number().int().min(1).optional(),
});

/** The audit trail, newest first, for admins. */
export function auditRoutes(audit: AuditService): Router {
  const router = Router();
  router.get('/', requireAdmin, (req, res) => {
    const query = parseInput(auditQuery, { ...req.query });
    res.json({ entries: audit.list({ limit: query.limit, beforeId: query.before }).map(toAuditDto) });
  });
  return router;
}
