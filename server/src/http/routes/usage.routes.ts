/** Model usage: each user's own (/api/me/usage), and everyone's for admins, as JSON and as CSV. */
import { create as contentDisposition } from 'content-disposition';
import { stringify } from 'csv-stringify/sync';
import { Router } from 'express';
import { requireAdmin, requireUser } from '../../auth/guards';
import type { ModelCatalogService } from '../../services/model-catalog.service';
import { usageDaysSchema, usageRangeSchema } from '../../services/model.schemas';
import type { ModelUsageService } from '../../services/model-usage.service';
import { parseInput } from '../../services/validate';

const CSV_COLUMNS = ['day', 'username', 'model', 'requests', 'errors', 'promptTokens', 'completionTokens', 'cachedTokens', 'costUsd'] as const;

export function myUsageRoutes(usage: ModelUsageService, catalog: ModelCatalogService): Router {
  const router = Router();
  router.use(requireUser);
  router.get('/', (req, res) => {
    const { days } = parseInput(usageDaysSchema, { ...req.query });
    const user = req.user!;
    const allowed = catalog.allowedFor({ id: user.id, role: user.role });
    const models = allowed.models.map((model) => ({ name: model.name, contextWindow: model.contextWindow, maxTokens: model.maxTokens, isDefault: model === allowed.default }));
    res.json({ ...usage.mine(user.id, days), models });
  });
  return router;
}

export function adminUsageRoutes(usage: ModelUsageService): Router {
  const router = Router();
  router.use(requireAdmin);
  router.get('/usage', (req, res) => {
    res.json(usage.everyone(parseInput(usageRangeSchema, { ...req.query })));
  });
  router.get('/usage.csv', (req, res) => {
    const report = usage.everyone(parseInput(usageRangeSchema, { ...req.query }));
    res.type('text/csv; charset=utf-8');
    res.set('Content-Disposition', contentDisposition(`crewclaw-usage-${report.from}-to-${report.to}.csv`));
    res.send(stringify(report.rows.map((row) => CSV_COLUMNS.map((column) => row[column])), { header: true, columns: [...CSV_COLUMNS] }));
  });
  return router;
}
