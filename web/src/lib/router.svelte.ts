/**
 * Hash routing for the signed-in part of the app: `#/` (home) and `#/users` (admins).
 * The hash keeps reloads and the back button working without server routes.
 */
export type Route = 'home' | 'users';

function parse(hash: string): Route {
  return hash.replace(/^#\/?/, '').split('/')[0] === 'users' ? 'users' : 'home';
}

export const router = $state<{ route: Route }>({ route: parse(location.hash) });

window.addEventListener('hashchange', () => {
  router.route = parse(location.hash);
});

export function href(route: Route): string {
  return route === 'users' ? '#/users' : '#/';
}

export function navigate(route: Route, options: { replace?: boolean } = {}): void {
  if (options.replace) {
    history.replaceState(history.state, '', href(route));
  } else {
    location.hash = href(route);
  }
  router.route = route;
}
