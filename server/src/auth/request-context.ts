import type { Request } from 'express';
import type { RequestContext } from '../services/request-context';
import './express-user';

/** The caller as services see it: no Express types cross into services/. */
export function contextOf(req: Request): RequestContext {
  return {
    actor: req.user ? { id: req.user.id, username: req.user.username, role: req.user.role } : null,
    requestId: req.id,
    ip: req.ip,
    sessionId: req.sessionID,
  };
}
