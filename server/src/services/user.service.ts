/**
 * Account administration and self-service. Keeps the platform administrable:
 * the last active admin cannot be demoted, disabled or deleted, and nobody can
 * do those things to their own account. Ending sessions on disable, delete and
 * a password reset happens here, so every entry point (API, CLI) gets it, and
 * is told to whatever holds a session open (the runtime events stream).
 */
import { ConflictError, NotFoundError, ValidationError } from '../errors/app-error';
import type { SessionRepository } from '../repositories/session.repository';
import type { Role, UserRecord, UserRepository } from '../repositories/user.repository';
import type { AuditService } from './audit.service';
import type { PasswordHasher } from './password-hasher';
import type { RequestContext } from './request-context';
import type { SessionEvents } from './session-events';
import type { ChangePasswordInput, CreateUserInput, UpdateUserInput } from './user.schemas';

export type User = Omit<UserRecord, 'passwordHash'>;

export function toUser({ passwordHash: _hash, ...user }: UserRecord): User {
  return user;
}

/** What must happen to a user's runtime before the user is deleted (the runtime service does it). */
export interface RuntimeRemoval {
  removeFor(context: RequestContext, owner: { id: number; username: string }, purge: boolean): Promise<void>;
}

export class UserService {
  constructor(
    private readonly users: UserRepository,
    private readonly sessions: SessionRepository,
    private readonly hasher: PasswordHasher,
    private readonly audit: AuditService,
    private readonly runtimes: RuntimeRemoval,
    private readonly sessionEvents: SessionEvents,
  ) {}

  list(): User[] {
    return this.users.list().map(toUser);
  }

  get(id: number): User {
    const user = this.users.findById(id);
    if (!user) throw new NotFoundError('user');
    return toUser(user);
  }

  findByUsername(username: string): User | undefined {
    const user = this.users.findByUsername(username);
    return user && toUser(user);
  }

  /** The signed-in user behind a session, or undefined once they are gone or disabled. */
  findActive(id: number): User | undefined {
    const user = this.users.findById(id);
    return user && !user.disabled ? toUser(user) : undefined;
  }

  async create(context: RequestContext, input: CreateUserInput): Promise<User> {
    const passwordHash = await this.hasher.hash(input.password);
    try {
      const user = this.users.create({ username: input.username, passwordHash, role: input.role });
      this.audit.record(context, 'user.create', user.username, 'success', { role: user.role });
      return toUser(user);
    } catch (error) {
      this.audit.record(context, 'user.create', input.username, 'failure', { reason: (error as Error).message });
      throw error;
    }
  }

  async update(context: RequestContext, id: number, patch: UpdateUserInput): Promise<User> {
    const passwordHash = patch.password === undefined ? undefined : await this.hasher.hash(patch.password);
    // No await from here on: the admin checks and the write happen as one step.
    const existing = this.users.findById(id);
    if (!existing) throw new NotFoundError('user');
    this.assertAdminsRemain(context, 'user.update', existing, patch);

    const updated = this.users.update(id, {
      ...(patch.role !== undefined && { role: patch.role }),
      ...(patch.disabled !== undefined && { disabled: patch.disabled }),
      ...(passwordHash !== undefined && { passwordHash }),
    });
    if (!updated) throw new NotFoundError('user');

    let sessionsEnded = 0;
    if (updated.disabled || passwordHash !== undefined) {
      const exceptSessionId = context.actor?.id === id ? context.sessionId : undefined;
      sessionsEnded = this.sessions.deleteForUser(id, exceptSessionId);
      this.sessionEvents.ended({ userId: id, exceptSessionId });
    }
    this.audit.record(context, 'user.update', updated.username, 'success', {
      changed: Object.keys(patch).filter((key) => patch[key as keyof UpdateUserInput] !== undefined),
      ...(patch.role !== undefined && { role: patch.role }),
      ...(patch.disabled !== undefined && { disabled: patch.disabled }),
      sessionsEnded,
    });
    return toUser(updated);
  }

  /** Deletes the user and their runtime; their files (the runtime volume) only when `purge` is asked for. */
  async delete(context: RequestContext, id: number, purge = false): Promise<void> {
    const existing = this.users.findById(id);
    if (!existing) throw new NotFoundError('user');
    if (context.actor?.id === id) {
      this.audit.record(context, 'user.delete', existing.username, 'failure', { reason: 'self' });
      throw new ConflictError('You cannot delete your own account.', { code: 'own_account' });
    }
    this.assertAdminsRemain(context, 'user.delete', existing, { disabled: true });
    await this.runtimes.removeFor(context, existing, purge);
    // Their sessions go with the row (foreign key).
    this.users.delete(id);
    this.sessionEvents.ended({ userId: id });
    this.audit.record(context, 'user.delete', existing.username, 'success', purge ? { purge } : undefined);
  }

  async changeOwnPassword(context: RequestContext, input: ChangePasswordInput): Promise<void> {
    const actor = context.actor;
    const user = actor && this.users.findById(actor.id);
    if (!user) throw new NotFoundError('user');
    if (!(await this.hasher.verify(user.passwordHash, input.currentPassword))) {
      this.audit.record(context, 'user.password.change', user.username, 'failure', { reason: 'wrong current password' });
      throw new ValidationError([{ field: 'currentPassword', message: 'is not your current password' }]);
    }
    this.users.update(user.id, { passwordHash: await this.hasher.hash(input.newPassword) });
    // Whoever might know the old password loses access; this browser stays signed in.
    const sessionsEnded = this.sessions.deleteForUser(user.id, context.sessionId);
    // This browser's sign-ins on its runtime's host too (a copy of that cookie would outlive the change);
    // the next page load there signs in again from this session, unnoticed.
    if (context.sessionId) this.sessions.endRuntimeHostSignIns(context.sessionId);
    this.sessionEvents.ended({ userId: user.id, exceptSessionId: context.sessionId });
    this.audit.record(context, 'user.password.change', user.username, 'success', { sessionsEnded });
  }

  /** CLI: set a password by username and end every session of that user. */
  async resetPassword(context: RequestContext, username: string, password: string): Promise<User> {
    const user = this.users.findByUsername(username);
    if (!user) throw new NotFoundError('user');
    return this.update(context, user.id, { password });
  }

  private assertAdminsRemain(
    context: RequestContext,
    action: string,
    existing: UserRecord,
    patch: { role?: Role; disabled?: boolean },
  ): void {
    const losesAdmin = existing.role === 'admin' && !existing.disabled && (patch.role === 'user' || patch.disabled === true);
    if (!losesAdmin) return;
    if (context.actor?.id === existing.id) {
      this.audit.record(context, action, existing.username, 'failure', { reason: 'self' });
      throw new ConflictError('You cannot remove your own admin access or disable yourself; ask another admin.', { code: 'own_account' });
    }
    if (this.users.countActiveAdmins() <= 1) {
      this.audit.record(context, action, existing.username, 'failure', { reason: 'last admin' });
      throw new ConflictError('This is the last active admin; make another admin first.', { code: 'last_admin' });
    }
  }
}
