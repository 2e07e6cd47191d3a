/**
 * The audit trail for admins: one filtered page at a time as JSON (/api/audit), or every matching
 * entry streamed as CSV (/api/audit.csv) or JSON lines (/api/audit.jsonl).
 */
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { create as contentDisposition } from 'content-disposition';
import { stringify } from 'csv-stringify';
import { Router, type Response } from 'express';
import { requireAdmin } from '../../auth/guards';
import { auditExportSchema, auditListSchema } from '../../services/audit.schemas';
import type { AuditRecord, AuditService } from '../../services/audit.service';
import { parseInput } from '../../services/validate';
import { toAuditDto } from '../dto';

const CSV_COLUMNS = ['id', 'at', 'actor', 'actorId', 'action', 'target', 'result', 'requestId', 'ip', 'detail'] as const;

// Targets can be file names users chose: a cell starting like a formula would run in a spreadsheet.
const FORMULA_START = /^[=+\-@\t\r]/;
const csvCell = (value: unknown): string | number | null => {
  if (value === null || typeof value === 'number') return value;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return FORMULA_START.test(text) ? `'${text}` : text;
};

function csvRow(entry: AuditRecord): (string | number | null)[] {
  const dto = toAuditDto(entry);
  return CSV_COLUMNS.map((column) => csvCell(dto[column]));
}

const exportName = (extension: string) => `crewclaw-audit-${new Date().toISOString().slice(0, 10)}.${extension}`;

/** Pulls rows only as fast as the client reads; a client that goes away ends the read. */
async function send(res: Response, body: Readable, format?: Transform): Promise<void> {
  try {
    await (format ? pipeline(body, format, res) : pipeline(body, res));
  } catch {
    res.destroy();
  }
}

/** Mounted on /api itself: `/audit.csv` is not a path under `/audit`. */
export function auditRoutes(audit: AuditService): Router {
  const router = Router();
  router.get('/audit', requireAdmin, (req, res) => {
    const { filter, page } = parseInput(auditListSchema, { ...req.query });
    const { entries, older, newer } = audit.list(filter, page);
    res.json({ entries: entries.map(toAuditDto), older, newer });
  });
  router.get('/audit.csv', requireAdmin, async (req, res) => {
    const filter = parseInput(auditExportSchema, { ...req.query });
    res.type('text/csv; charset=utf-8');
    res.set('Content-Disposition', contentDisposition(exportName('csv')));
    await send(res, Readable.from(audit.exportAll(filter)).map(csvRow), stringify({ header: true, columns: [...CSV_COLUMNS] }));
  });
  router.get('/audit.jsonl', requireAdmin, async (req, res) => {
    const filter = parseInput(auditExportSchema, { ...req.query });
    res.type('application/x-ndjson; charset=utf-8');
    res.set('Content-Disposition', contentDisposition(exportName('jsonl')));
    await send(res, Readable.from(audit.exportAll(filter)).map((entry: AuditRecord) => `${JSON.stringify(toAuditDto(entry))}\n`));
  });
  return router;
}
