/**
 * Checks credentials. Every failure looks the same to the caller (unknown
 * user, wrong password, disabled account) and costs the same time, while the
 * audit trail records the real reason.
 */
import { NO_METRICS, type SignInObserver } from '../metrics/observers';
import type { UserRepository } from '../repositories/user.repository';
import type { AuditService } from './audit.service';
import type { PasswordHasher } from './password-hasher';
import type { RequestContext } from './request-context';
import { toUser, type User } from './user.service';

export type SignInResult = { ok: true; user: User } | { ok: false };

export class AuthService {
  constructor(
    private readonly users: UserRepository,
    private readonly hasher: PasswordHasher,
    private readonly audit: AuditService,
    private readonly observer: SignInObserver = NO_METRICS,
  ) {}

  async verifyCredentials(context: RequestContext, rawUsername: string, password: string): Promise<SignInResult> {
    // Sign-in forgives case and stray spaces; stored usernames are always lowercase.
    const username = rawUsername.trim().toLowerCase();
    const record = this.users.findByUsername(username);
    const passwordOk = record ? await this.hasher.verify(record.passwordHash, password) : await this.hasher.verifyNothing(password);

    const reason = !record ? 'unknown user' : !passwordOk ? 'wrong password' : record.disabled ? 'disabled' : undefined;
    if (!record || reason) {
      this.audit.record({ ...context, actor: null }, 'auth.login', username.slice(0, 64), 'failure', { reason });
      this.observer.signInFailed(!record ? 'unknown_user' : !passwordOk ? 'wrong_password' : 'disabled');
      return { ok: false };
    }
    const updated = this.users.update(record.id, { lastLoginAt: new Date() }) ?? record;
    this.audit.record({ ...context, actor: { id: record.id, username: record.username, role: record.role } }, 'auth.login', record.username, 'success');
    return { ok: true, user: toUser(updated) };
  }

  recordLogout(context: RequestContext): void {
    if (context.actor) this.audit.record(context, 'auth.logout', context.actor.username, 'success');
  }
}
