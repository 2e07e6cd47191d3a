import { usernameSchema } from './user.schemas';

describe('usernames', () => {
  it.each(['al', 'alice', 'a-1', 'dev-team-2', `a${'b'.repeat(31)}`])('accepts %s', (name) => {
    expect(usernameSchema.safeParse(name).success).toBe(true);
  });

  // They become container, volume and URL names, so anything outside [a-z0-9-] is refused.
  it.each(['a', 'Alice', '1abc', '-abc', 'al_ice', 'al.ice', 'al ice', 'al/ice', 'ällö', '用户', `a${'b'.repeat(32)}`, ''])('refuses %j', (name) => {
    expect(usernameSchema.safeParse(name).success).toBe(false);
  });
});
