/** Promise wrappers over passport's callback-style session calls. */
import type { Request } from 'express';

export function signIn(req: Request, user: Express.User): Promise<void> {
  return new Promise((resolve, reject) => req.login(user, (error) => (error ? reject(error as Error) : resolve())));
}

export function signOut(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.logout((error) => (error ? reject(error as Error) : resolve())));
}
