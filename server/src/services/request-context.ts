/** Who is asking, and the request it belongs to: what services need for permissions and the audit trail. */
export interface Actor {
  id: number;
  username: string;
  role: 'admin' | 'user';
}

export interface RequestContext {
  /** null for anonymous callers (sign-in, first-run setup); the CLI acts as a named pseudo-actor. */
  actor: Actor | null;
  requestId?: string;
  ip?: string;
  /** The caller's own session, kept alive when their other sessions end. */
  sessionId?: string;
  /** Who acts when no account does: the admin CLI, or the platform itself (idle stop). */
  systemActor?: 'cli' | 'platform';
}

export const CLI_CONTEXT: RequestContext = { actor: null, requestId: 'cli', systemActor: 'cli' };
export const PLATFORM_CONTEXT: RequestContext = { actor: null, systemActor: 'platform' };
