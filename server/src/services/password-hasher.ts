/**
 * Password hashing with argon2id (OWASP parameters: 19 MiB, 2 passes). The
 * dummy hash lets a sign-in for an unknown user cost the same as a wrong
 * password, so response times do not reveal which usernames exist.
 */
import argon2 from 'argon2';

const OPTIONS = { type: argon2.argon2id, memoryCost: 19 * 1024, timeCost: 2, parallelism: 1 } as const;

export class PasswordHasher {
  private dummyHash: Promise<string> | undefined;

  hash(password: string): Promise<string> {
    return argon2.hash(password, OPTIONS);
  }

  async verify(hash: string, password: string): Promise<boolean> {
    try {
      return await argon2.verify(hash, password);
    } catch {
      return false;
    }
  }

  /** Burns the time of one verification and always fails. */
  async verifyNothing(password: string): Promise<false> {
    this.dummyHash ??= this.hash('crewclaw-timing-equaliser');
    await this.verify(await this.dummyHash, password);
    return false;
  }
}
