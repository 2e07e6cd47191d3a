/**
 * passport with the local (username + password) strategy. One Passport
 * instance per app, so tests can build several apps in one process.
 */
import { Passport } from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import type { AuthService } from '../services/auth.service';
import type { UserService } from '../services/user.service';
import { contextOf } from './request-context';

export type PassportInstance = InstanceType<typeof Passport>;

export function createPassport(auth: AuthService, users: UserService): PassportInstance {
  const passport = new Passport();
  passport.use(
    new LocalStrategy({ passReqToCallback: true }, (req, username, password, done) => {
      auth.verifyCredentials(contextOf(req), username, password).then(
        (result) => done(null, result.ok ? result.user : false),
        (error: unknown) => done(error),
      );
    }),
  );
  passport.serializeUser((user, done) => done(null, user.id));
  // A deleted or disabled user's session stops working on its very next request.
  passport.deserializeUser((id: unknown, done) => {
    try {
      done(null, (typeof id === 'number' && users.findActive(id)) || false);
    } catch (error) {
      done(error);
    }
  });
  return passport;
}
