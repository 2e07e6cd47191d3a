/**
 * Who is signed in, and which top-level screen the app shows.
 *
 * States: `loading` (asking the server) -> `setup` (no user exists yet) | `signin` |
 * `app` (signed in). `offline` when the first probe failed; `retry()` starts over.
 * A 401 from any later call ends the session: back to `signin` with a notice.
 */
import { api, onSessionEnded } from './api/client';
import { isApiError } from './api/errors';
import type { User } from './api/types';
import type { MessageKey } from './i18n/index.svelte';

export type Phase = 'loading' | 'offline' | 'setup' | 'signin' | 'app';

export const session = $state<{
  phase: Phase;
  user: User | null;
  /** Shown once on the sign-in screen (why you are here). */
  notice: MessageKey | null;
  /** Why the first probe failed (phase `offline`). */
  error: unknown;
}>({ phase: 'loading', user: null, notice: null, error: null });

onSessionEnded(() => {
  if (session.phase !== 'app') return;
  session.user = null;
  session.notice = 'signin.notice.expired';
  session.phase = 'signin';
});

export async function start(): Promise<void> {
  session.phase = 'loading';
  session.error = null;
  try {
    if (await api.setupStatus()) {
      session.phase = 'setup';
      return;
    }
    signedIn(await api.me({ sessionExpiry: false }));
  } catch (error) {
    if (isApiError(error) && error.status === 401) {
      session.phase = 'signin';
      return;
    }
    session.error = error;
    session.phase = 'offline';
  }
}

export function signedIn(user: User): void {
  session.user = user;
  session.notice = null;
  session.phase = 'app';
}

/** After setup turned out to be done already (someone else finished it). */
export function toSignIn(notice: MessageKey | null = null): void {
  session.user = null;
  session.notice = notice;
  session.phase = 'signin';
}

export async function signOut(): Promise<void> {
  try {
    await api.logout();
  } catch {
    // Signing out locally is still right: the cookie may already be gone.
  }
  toSignIn('signin.notice.signedOut');
}

/**
 * Re-reads the signed-in user (e.g. when the tab becomes visible again), so a role
 * change or a disabled account shows up without waiting for the next click.
 */
export async function refreshUser(): Promise<void> {
  if (session.phase !== 'app') return;
  try {
    const user = await api.me();
    if (session.phase === 'app') session.user = user;
  } catch {
    // A 401 is handled by onSessionEnded; anything else can wait for the next action.
  }
}
