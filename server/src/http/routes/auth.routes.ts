import { Router, type RequestHandler } from 'express';
import type { Csrf } from '../../auth/csrf';
import { requireUser } from '../../auth/guards';
import type { PassportInstance } from '../../auth/passport';
import { contextOf } from '../../auth/request-context';
import { UnauthorizedError } from '../../errors/app-error';
import type { AuthService } from '../../services/auth.service';
import { credentialsSchema } from '../../services/user.schemas';
import { parseInput } from '../../services/validate';
import { toUserDto } from '../dto';
import { signIn, signOut } from '../session-login';

export function authRoutes(deps: { auth: AuthService; passport: PassportInstance; csrf: Csrf; loginRateLimit: RequestHandler[]; sessionCookie: string }): Router {
  const router = Router();

  router.post('/login', ...deps.loginRateLimit, async (req, res) => {
    parseInput(credentialsSchema, req.body);
    const user = await new Promise<Express.User | false>((resolve, reject) => {
      const authenticate = deps.passport.authenticate('local', { session: false }, (error: unknown, found: Express.User | false) =>
        error ? reject(error instanceof Error ? error : new Error("authentication failed")) : resolve(found),
      ) as RequestHandler;
      void authenticate(req, res, reject);
    });
    if (!user) throw new UnauthorizedError('Wrong username or password.', 'invalid_credentials');
    await signIn(req, user);
    res.json({ user: toUserDto(user), csrfToken: deps.csrf.tokenFor(req) });
  });

  router.post('/logout', requireUser, async (req, res) => {
    deps.auth.recordLogout(contextOf(req));
    await signOut(req);
    res.clearCookie(deps.sessionCookie, { path: '/', ...(deps.sessionCookie.startsWith('__Host-') ? { secure: true } : {}) });
    res.status(204).end();
  });

  return router;
}
