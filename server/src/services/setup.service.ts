/** First run: while no user exists, anyone reaching the platform may create the first admin. */
import { ConflictError } from '../errors/app-error';
import type { UserRepository } from '../repositories/user.repository';
import type { AuditService } from './audit.service';
import type { PasswordHasher } from './password-hasher';
import type { RequestContext } from './request-context';
import type { SetupInput } from './user.schemas';
import { toUser, type User } from './user.service';

export class SetupService {
  constructor(
    private readonly users: UserRepository,
    private readonly hasher: PasswordHasher,
    private readonly audit: AuditService,
  ) {}

  isNeeded(): boolean {
    return this.users.count() === 0;
  }

  async createFirstAdmin(context: RequestContext, input: SetupInput): Promise<User> {
    if (!this.isNeeded()) throw this.alreadyDone(context, input.username);
    const passwordHash = await this.hasher.hash(input.password);
    // Two racing setups both pass the check above; the insert decides atomically.
    const user = this.users.createIfNone({ username: input.username, passwordHash, role: 'admin' });
    if (!user) throw this.alreadyDone(context, input.username);
    this.audit.record({ ...context, actor: { id: user.id, username: user.username, role: user.role } }, 'setup', user.username, 'success');
    return toUser(user);
  }

  private alreadyDone(context: RequestContext, username: string): ConflictError {
    this.audit.record(context, 'setup', username, 'failure', { reason: 'already set up' });
    return new ConflictError('CrewClaw is already set up. Sign in instead.', { code: 'setup_done' });
  }
}
