import { Router } from 'express';
import { z } from 'zod';
import { requireAdmin } from '../../auth/guards';
import { contextOf } from '../../auth/request-context';
import type { RuntimeService } from '../../services/runtime.service';
import type { UserService } from '../../services/user.service';
import { parseInput } from '../../services/validate';
import { toRuntimeDto } from '../dto';
import { adminTarget } from '../owners';
import { oneRuntimeRoutes } from './runtime.routes';

const limitsSchema = z
  .strictObject({
    memoryMb: z.number({ error: 'must be a number of MiB or null' }).int().min(512).max(1024 * 1024).nullable().optional(),
    cpus: z.number({ error: 'must be a number of CPUs or null' }).min(0.1).max(512).nullable().optional(),
  })
  .refine((limits) => limits.memoryMb !== undefined || limits.cpus !== undefined, { message: 'give memoryMb, cpus or both (null = the default)' });

const upgradeSchema = z.strictObject({ usernames: z.array(z.string()).max(10_000).optional() });
const purgeQuery = z.strictObject({ purge: z.enum(['true', 'false']).default('false').transform((value) => value === 'true') });

/** Every user's runtime, for admins. */
export function adminRuntimesRoutes(runtimes: RuntimeService, users: UserService): Router {
  const router = Router();
  router.use(requireAdmin);

  const ownerOf = adminTarget(users);

  router.get('/', async (_req, res) => {
    const all = await Promise.all(users.list().map((user) => runtimes.status({ id: user.id, username: user.username })));
    res.json({ runtimes: all.map(toRuntimeDto) });
  });
  router.patch('/:username/limits', async (req, res) => {
    const who = ownerOf(req);
    await runtimes.setLimits(contextOf(req), who, parseInput(limitsSchema, req.body));
    res.json({ runtime: toRuntimeDto(await runtimes.status(who)) });
  });
  /** Moves runtimes onto the configured image by restarting them: running ones only, one after another. */
  router.post('/upgrade', async (req, res) => {
    const { usernames } = parseInput(upgradeSchema, req.body ?? {});
    const chosen = users.list().filter((user) => !usernames || usernames.includes(user.username));
    const results = [];
    for (const user of chosen) {
      const who = { id: user.id, username: user.username };
      const current = await runtimes.status(who);
      if (current.state !== 'running') continue;
      results.push(toRuntimeDto(await runtimes.restart(contextOf(req), who).catch(() => runtimes.status(who))));
    }
    res.json({ runtimes: results });
  });
  router.delete('/:username', async (req, res) => {
    const { purge } = parseInput(purgeQuery, { ...req.query });
    await runtimes.remove(contextOf(req), ownerOf(req), purge);
    res.status(204).end();
  });
  router.use('/:username', oneRuntimeRoutes(runtimes, ownerOf));
  return router;
}
