/** Route guards: anonymous callers get 401, signed-in non-admins get 403 on admin routes. */
import type { RequestHandler } from 'express';
import { ForbiddenError, UnauthorizedError } from '../errors/app-error';
import './express-user';

export const requireUser: RequestHandler = (req, _res, next) => {
  if (!req.user) throw new UnauthorizedError();
  next();
};

export const requireAdmin: RequestHandler = (req, _res, next) => {
  if (!req.user) throw new UnauthorizedError();
  if (req.user.role !== 'admin') throw new ForbiddenError('Only admins can do this.');
  next();
};
