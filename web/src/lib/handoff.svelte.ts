/**
 * The hand-off to a runtime: the platform's forward-auth sends a browser that asked
 * for `/u/<user>/...` while signed out, or while that runtime was not running, to
 * `/?next=<that path>`. The app starts the runtime, then goes back there.
 *
 * `next` is only ever followed when it is a path inside the signed-in user's own
 * runtime (`/u/<me>` or `/u/<me>/...`): no scheme, no host, no `//`, no backslash, no
 * `..` that would climb out. Anything else is dropped from the address bar and
 * ignored, so the parameter can never become an open redirect.
 *
 * The raw parameter stays in the URL while signed out (the sign-in screen does not
 * change the address), so signing in keeps it.
 */

const PARAM = 'next';

function readParam(): string | null {
  return new URLSearchParams(location.search).get(PARAM);
}

export const handoff = $state<{ raw: string | null }>({ raw: readParam() });

/** Whether the address asks for a runtime at all (to explain the sign-in screen). */
export function wantsRuntime(): boolean {
  return handoff.raw !== null && handoff.raw.startsWith('/u/');
}

/**
 * The path to go to once `username`'s runtime runs, or null when `raw` is not a path
 * inside that runtime. Returns the browser-normalised path (what `location.assign` would
 * really load), checked again after normalisation.
 */
export function safeNext(raw: string | null, username: string): string | null {
  if (!raw || !username) return null;
  const own = `/u/${username}`;
  if (raw !== own && !raw.startsWith(`${own}/`)) return null;
  if (raw.includes('//') || raw.includes('\\') || /[\u0000-\u001f\u007f]/.test(raw)) return null;
  let url: URL;
  try {
    url = new URL(raw, location.origin);
  } catch {
    return null;
  }
  if (url.origin !== location.origin) return null;
  // `..` segments (also percent-encoded ones) are resolved by the parser: look at the result.
  if (url.pathname !== own && !url.pathname.startsWith(`${own}/`)) return null;
  return url.pathname + url.search + url.hash;
}

/** Forgets the hand-off and takes `next` out of the address bar (keeping the rest). */
export function clearHandoff(): void {
  handoff.raw = null;
  const params = new URLSearchParams(location.search);
  if (!params.has(PARAM)) return;
  params.delete(PARAM);
  const query = params.toString();
  history.replaceState(history.state, '', `${location.pathname}${query ? `?${query}` : ''}${location.hash}`);
}

/**
 * Guards against a redirect loop (forward-auth and this page disagreeing about whether the
 * runtime runs): the same hand-off is followed automatically at most a few times a minute.
 */
const LOOP_KEY = 'crewclaw.handoff';
const LOOP_WINDOW_MS = 60_000;
const LOOP_MAX = 3;

export function mayFollow(next: string): boolean {
  try {
    const saved = JSON.parse(sessionStorage.getItem(LOOP_KEY) ?? 'null') as { next?: unknown; times?: unknown } | null;
    const now = Date.now();
    const times = saved?.next === next && Array.isArray(saved.times) ? saved.times.filter((at): at is number => typeof at === 'number' && now - at < LOOP_WINDOW_MS) : [];
    if (times.length >= LOOP_MAX) return false;
    sessionStorage.setItem(LOOP_KEY, JSON.stringify({ next, times: [...times, now] }));
  } catch {
    // No storage: follow it; the worst case is the loop the guard is for, bounded by the user.
  }
  return true;
}
