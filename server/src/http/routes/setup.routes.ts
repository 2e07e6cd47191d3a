import { Router } from 'express';
import type { Csrf } from '../../auth/csrf';
import { contextOf } from '../../auth/request-context';
import type { SetupService } from '../../services/setup.service';
import { setupSchema } from '../../services/user.schemas';
import { parseInput } from '../../services/validate';
import { toUserDto } from '../dto';
import { signIn } from '../session-login';

/** First run: create the first admin and sign them in. */
export function setupRoutes(setup: SetupService, csrf: Csrf): Router {
  const router = Router();
  router.get('/', (_req, res) => {
    res.json({ needed: setup.isNeeded() });
  });
  router.post('/', async (req, res) => {
    const input = parseInput(setupSchema, req.body);
    const user = await setup.createFirstAdmin(contextOf(req), input);
    await signIn(req, user);
    res.status(201).json({ user: toUserDto(user), csrfToken: csrf.tokenFor(req) });
  });
  return router;
}
