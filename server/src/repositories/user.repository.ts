/** Users in SQLite. The only place user rows are read or written. */
import { and, asc, count, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { users, type USER_ROLES } from '../db/schema';
import { ConflictError } from '../errors/app-error';

export type Role = (typeof USER_ROLES)[number];
export type UserRecord = typeof users.$inferSelect;
export type UserPatch = Partial<Pick<UserRecord, 'role' | 'disabled' | 'passwordHash' | 'lastLoginAt'>>;

export interface NewUser {
  username: string;
  passwordHash: string;
  role: Role;
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE';
}

export class UserRepository {
  // Every signed-in request looks its user up by id: prepared once.
  private readonly byId;

  constructor(private readonly db: Db) {
    this.byId = db.select().from(users).where(eq(users.id, sql.placeholder('id'))).prepare();
  }

  findById(id: number): UserRecord | undefined {
    return this.byId.get({ id });
  }

  findByUsername(username: string): UserRecord | undefined {
    return this.db.select().from(users).where(eq(users.username, username)).get();
  }

  list(): UserRecord[] {
    return this.db.select().from(users).orderBy(asc(users.username)).all();
  }

  count(): number {
    return this.db.select({ value: count() }).from(users).get()?.value ?? 0;
  }

  countActiveAdmins(): number {
    return (
      this.db
        .select({ value: count() })
        .from(users)
        .where(and(eq(users.role, 'admin'), eq(users.disabled, false)))
        .get()?.value ?? 0
    );
  }

  create(user: NewUser, now = new Date()): UserRecord {
    try {
      return this.db
        .insert(users)
        .values({ ...user, createdAt: now, updatedAt: now })
        .returning()
        .get();
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new ConflictError('That username is taken.', { fields: [{ field: 'username', message: 'That username is taken.' }] });
      }
      throw error;
    }
  }

  /** Creates the user only while the table is empty, atomically; undefined when someone got there first. */
  createIfNone(user: NewUser, now = new Date()): UserRecord | undefined {
    return this.db.transaction(() => (this.count() === 0 ? this.create(user, now) : undefined), { behavior: 'immediate' });
  }

  update(id: number, patch: UserPatch, now = new Date()): UserRecord | undefined {
    return this.db
      .update(users)
      .set({ ...patch, updatedAt: now })
      .where(eq(users.id, id))
      .returning()
      .get();
  }

  delete(id: number): boolean {
    return this.db.delete(users).where(eq(users.id, id)).run().changes > 0;
  }
}
