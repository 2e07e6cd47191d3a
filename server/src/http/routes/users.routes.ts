import { Router } from 'express';
import { z } from 'zod';
import { requireAdmin } from '../../auth/guards';
import { contextOf } from '../../auth/request-context';
import { createUserSchema, updateUserSchema } from '../../services/user.schemas';
import type { UserService } from '../../services/user.service';
import { parseInput } from '../../services/validate';
import { toUserDto } from '../dto';
import { idParam } from '../id-param';

const purgeQuery = z.strictObject({ purge: z.enum(['true', 'false']).default('false').transform((value) => value === 'true') });

/** Account administration, admins only. */
export function usersRoutes(users: UserService): Router {
  const router = Router();
  router.use(requireAdmin);
  router.get('/', (_req, res) => {
    res.json({ users: users.list().map(toUserDto) });
  });
  router.post('/', async (req, res) => {
    const user = await users.create(contextOf(req), parseInput(createUserSchema, req.body));
    res.status(201).json({ user: toUserDto(user) });
  });
  router.get('/:id', (req, res) => {
    res.json({ user: toUserDto(users.get(idParam(req.params.id, 'user'))) });
  });
  router.patch('/:id', async (req, res) => {
    const id = idParam(req.params.id, 'user');
    const user = await users.update(contextOf(req), id, parseInput(updateUserSchema, req.body));
    res.json({ user: toUserDto(user) });
  });
  router.delete('/:id', async (req, res) => {
    const { purge } = parseInput(purgeQuery, { ...req.query });
    await users.delete(contextOf(req), idParam(req.params.id, 'user'), purge);
    res.status(204).end();
  });
  return router;
}
