import { Router } from 'express';
import { z } from 'zod';
import { requireAdmin } from '../../auth/guards';
import { contextOf } from '../../auth/request-context';
import { NotFoundError } from '../../errors/app-error';
import { createUserSchema, updateUserSchema } from '../../services/user.schemas';
import type { UserService } from '../../services/user.service';
import { parseInput } from '../../services/validate';
import { toUserDto } from '../dto';

const purgeQuery = z.strictObject({ purge: z.enum(['true', 'false']).default('false').transform((value) => value === 'true') });

/** Ids that are not positive integers name no user: the same 404 as a missing one. */
function userId(raw: string | string[] | undefined): number {
  const id = typeof raw === 'string' && /^[1-9]\d{0,15}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(id)) throw new NotFoundError('user');
  return id;
}

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
    res.json({ user: toUserDto(users.get(userId(req.params.id))) });
  });
  router.patch('/:id', async (req, res) => {
    const id = userId(req.params.id);
    const user = await users.update(contextOf(req), id, parseInput(updateUserSchema, req.body));
    res.json({ user: toUserDto(user) });
  });
  router.delete('/:id', async (req, res) => {
    const { purge } = parseInput(purgeQuery, { ...req.query });
    await users.delete(contextOf(req), userId(req.params.id), purge);
    res.status(204).end();
  });
  return router;
}
