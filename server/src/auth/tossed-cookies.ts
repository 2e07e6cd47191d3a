/**
 * A browser that sends the session cookie twice has been handed a second one by someone else: the
 * runtime origin shares the platform's host name (another port), and script there can write cookies
 * for that host, e.g. its own session under a narrower path, which the browser would send first. Such
 * a request is refused before the session is read, and every copy the browser could have sent is
 * cleared (a cookie reaches a request only under a path that is a prefix of the request's, with or
 * without a Domain attribute), so the user signs in again instead of acting in a session a page chose.
 */
import type { RequestHandler } from 'express';
import { AppError } from '../errors/app-error';

function sessionCookieCount(header: string | undefined, name: string): number {
  if (!header) return 0;
  return header.split(';').filter((pair) => pair.trim().split('=')[0] === name).length;
}

/** `/`, `/api`, `/api/`, `/api/runtime` ... for `/api/runtime`. */
function pathPrefixes(path: string): string[] {
  const prefixes = new Set<string>(['/']);
  let at = path.indexOf('/', 1);
  while (at !== -1) {
    prefixes.add(path.slice(0, at));
    prefixes.add(path.slice(0, at + 1));
    at = path.indexOf('/', at + 1);
  }
  prefixes.add(path);
  return [...prefixes];
}

export function refuseTossedSessionCookies(cookieName: string): RequestHandler {
  return (req, res, next) => {
    if (sessionCookieCount(req.headers.cookie, cookieName) < 2) return next();
    const host = req.hostname;
    // A __Host- cookie exists only with Path=/, Secure and no Domain: browsers ignore other clearings of it.
    const clearing = cookieName.startsWith('__Host-')
      ? [`${cookieName}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax`]
      : pathPrefixes(req.originalUrl.split('?')[0] ?? '/').flatMap((path) => [
          `${cookieName}=; Path=${path}; Max-Age=0; HttpOnly; SameSite=Lax`,
          `${cookieName}=; Path=${path}; Domain=${host}; Max-Age=0; HttpOnly; SameSite=Lax`,
        ]);
    res.setHeader('Set-Cookie', clearing);
    next(
      new AppError(400, 'session_cookie_conflict', 'Your browser sent two sign-in cookies, one of them set by another page. Both are cleared: sign in again.'),
    );
  };
}
