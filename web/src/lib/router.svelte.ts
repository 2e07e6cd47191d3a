/**
 * Hash routing for the signed-in part of the app: `#/` (home), `#/users`, `#/models` and
 * `#/admin-usage` and `#/audit` (admins), `#/usage` (my model use) and `#/files/<folder>` (my workspace;
 * each name URI-encoded, so any name survives).
 * The hash keeps reloads and the back button working without server routes.
 */
export type Route = 'home' | 'users' | 'files' | 'models' | 'usage' | 'admin-usage' | 'audit';

/** Routes that only admins see; anyone else who follows a link to one lands on home. */
export const ADMIN_ROUTES: readonly Route[] = ['users', 'models', 'admin-usage', 'audit'];

/** Routes without a path: `#/<route>`. */
const PLAIN: readonly Route[] = ['users', 'models', 'usage', 'admin-usage', 'audit'];

interface Location {
  route: Route;
  /** For `files`: the folder shown, relative to the workspace ("" is the workspace itself). */
  path: string;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // a hand-typed "%" that is not an escape: take it literally
  }
}

function parse(hash: string): Location {
  const [first = '', ...rest] = hash.replace(/^#\/?/, '').split('/');
  const plain = PLAIN.find((route) => route === first);
  if (plain) return { route: plain, path: '' };
  if (first === 'files') return { route: 'files', path: rest.filter((segment) => segment !== '').map(decode).join('/') };
  return { route: 'home', path: '' };
}

export const router = $state<Location>(parse(location.hash));

window.addEventListener('hashchange', () => {
  const next = parse(location.hash);
  router.route = next.route;
  router.path = next.path;
});

export function href(route: Route, path = ''): string {
  if (PLAIN.includes(route)) return `#/${route}`;
  if (route === 'files') return path ? `#/files/${path.split('/').map(encodeURIComponent).join('/')}` : '#/files';
  return '#/';
}

export function navigate(route: Route, options: { replace?: boolean; path?: string } = {}): void {
  const target = href(route, options.path);
  if (options.replace) {
    history.replaceState(history.state, '', target);
  } else {
    location.hash = target;
  }
  router.route = route;
  router.path = route === 'files' ? (options.path ?? '') : '';
}
