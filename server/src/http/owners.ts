/** Whose runtime or workspace a request is about: the caller's own, or for admins the user in the URL. */
import type { Request } from 'express';
import { NotFoundError } from '../errors/app-error';
import type { RuntimeOwner } from '../services/runtime.service';
import type { UserService } from '../services/user.service';

export const ownRuntime = (req: Request): RuntimeOwner => ({ id: req.user!.id, username: req.user!.username });

/** `:username` from the path; an unknown user is the same 404 as any missing resource. */
export const adminTarget =
  (users: UserService) =>
  (req: Request): RuntimeOwner => {
    const user = typeof req.params.username === 'string' ? users.findByUsername(req.params.username) : undefined;
    if (!user) throw new NotFoundError('user');
    return { id: user.id, username: user.username };
  };
