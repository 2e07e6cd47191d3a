/** Admins' model catalog: providers (their keys go in, never out), models, and each user's model limits. */
import { Router } from 'express';
import { requireAdmin } from '../../auth/guards';
import { contextOf } from '../../auth/request-context';
import { NotFoundError } from '../../errors/app-error';
import type { ModelGateway } from '../../models/model-gateway.service';
import type { ModelCatalogService } from '../../services/model-catalog.service';
import { createModelSchema, createProviderSchema, limitOverridesSchema, updateModelSchema, updateProviderSchema } from '../../services/model.schemas';
import type { ModelUsageService } from '../../services/model-usage.service';
import { parseInput } from '../../services/validate';
import { idParam } from '../id-param';

export function modelsAdminRoutes(catalog: ModelCatalogService, usage: ModelUsageService, gateway: ModelGateway): Router {
  const router = Router();
  router.use(requireAdmin);

  router.get('/models', async (_req, res) => {
    res.json({ gateway: await catalog.status(), kinds: catalog.kinds(), ...catalog.view() });
  });
  router.post('/model-providers', (req, res) => {
    res.status(201).json({ provider: catalog.createProvider(contextOf(req), parseInput(createProviderSchema, req.body)) });
  });
  router.patch('/model-providers/:id', (req, res) => {
    res.json({ provider: catalog.updateProvider(contextOf(req), idParam(req.params.id, 'provider'), parseInput(updateProviderSchema, req.body)) });
  });
  router.delete('/model-providers/:id', (req, res) => {
    catalog.deleteProvider(contextOf(req), idParam(req.params.id, 'provider'));
    res.status(204).end();
  });
  router.post('/models', (req, res) => {
    res.status(201).json({ model: catalog.createModel(contextOf(req), parseInput(createModelSchema, req.body)) });
  });
  router.patch('/models/:id', (req, res) => {
    res.json({ model: catalog.updateModel(contextOf(req), idParam(req.params.id, 'model'), parseInput(updateModelSchema, req.body)) });
  });
  router.delete('/models/:id', (req, res) => {
    catalog.deleteModel(contextOf(req), idParam(req.params.id, 'model'));
    res.status(204).end();
  });
  router.post('/models/:id/check', async (req, res) => {
    const model = catalog.view().models.find((candidate) => candidate.id === idParam(req.params.id, 'model'));
    if (!model) throw new NotFoundError('model');
    res.json(await catalog.check(model, gateway));
  });

  router.get('/users/:id/model-limits', (req, res) => {
    res.json(usage.limitsView(idParam(req.params.id, 'user')));
  });
  router.put('/users/:id/model-limits', (req, res) => {
    res.json(usage.setOverrides(contextOf(req), idParam(req.params.id, 'user'), parseInput(limitOverridesSchema, req.body)));
  });
  return router;
}
