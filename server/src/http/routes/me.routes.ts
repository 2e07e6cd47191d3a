import { Router } from 'express';
import type { Csrf } from '../../auth/csrf';
import { requireUser } from '../../auth/guards';
import { contextOf } from '../../auth/request-context';
import { changePasswordSchema } from '../../services/user.schemas';
import type { UserService } from '../../services/user.service';
import { parseInput } from '../../services/validate';
import { toUserDto } from '../dto';

/** The signed-in user's own account. */
export function meRoutes(users: UserService, csrf: Csrf): Router {
  const router = Router();
  router.use(requireUser);
  router.get('/', (req, res) => {
    res.json({ user: toUserDto(req.user!), csrfToken: csrf.tokenFor(req) });
  });
  router.patch('/password', async (req, res) => {
    await users.changeOwnPassword(contextOf(req), parseInput(changePasswordSchema, req.body));
    res.status(204).end();
  });
  return router;
}
