/**
 * The typed client for the control-plane API; nothing else in the app calls fetch.
 *
 * - Cookies carry the session (same origin). The CSRF token arrives in the body of
 *   setup, login and /me responses; it is kept here and sent as X-CSRF-Token on every
 *   non-GET request.
 * - Every failure is thrown as an ApiError (see errors.ts): server errors keep their
 *   code and fields; no response at all is `network_error` with status 0.
 * - A 401 on any call except the sign-in attempt and the initial session probe means
 *   the session ended: the registered handler sends the app to the sign-in screen.
 * - A 403 csrf_invalid (token rotated, e.g. the server restarted) is retried once
 *   after refreshing the token from /me.
 * - The runtime's progress stream (server-sent events) is opened here too, so the
 *   screens never build API URLs themselves.
 */
import { ApiError, NETWORK_ERROR } from './errors';
import type { Credentials, NewUser, PasswordChange, Role, Runtime, RuntimeStepEvent, SessionResponse, User, UserPatch } from './types';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

interface RequestOptions {
  /** Body to send as JSON. */
  body?: unknown;
  /** When false, a 401 is only thrown, not treated as "session ended". */
  sessionExpiry?: boolean;
  /** Internal: whether a csrf_invalid answer may be retried with a fresh token. */
  csrfRetry?: boolean;
  /** Return the body as plain text (errors are still read as JSON). */
  text?: boolean;
}

const BASE = '/api';
let csrfToken: string | null = null;
let sessionEnded: (() => void) | null = null;

/** Registers what happens when the server says the session is gone (401 mid-session). */
export function onSessionEnded(handler: () => void): void {
  sessionEnded = handler;
}

async function request<T>(method: Method, path: string, options: RequestOptions = {}): Promise<T> {
  const { body, sessionExpiry = true, csrfRetry = true, text = false } = options;
  const headers: Record<string, string> = { Accept: text ? 'text/plain, application/json' : 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;

  let response: Response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (cause) {
    throw new ApiError(0, NETWORK_ERROR, cause instanceof Error ? cause.message : 'Network error');
  }

  if (response.status === 204) return undefined as T;
  if (text && response.ok) {
    try {
      return (await response.text()) as T;
    } catch (cause) {
      throw new ApiError(0, NETWORK_ERROR, cause instanceof Error ? cause.message : 'Network error');
    }
  }
  const parsed = await readJson(response);

  if (response.ok) return parsed as T;
  const error = ApiError.fromBody(response.status, parsed);

  if (error.status === 401 && sessionExpiry) {
    csrfToken = null;
    sessionEnded?.();
  } else if (error.code === 'csrf_invalid' && csrfRetry) {
    // The session may still be fine with a newer token; fetch it and try once more.
    await me().catch(() => undefined);
    return request<T>(method, path, { ...options, csrfRetry: false });
  }
  throw error;
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text().catch(() => '');
  if (!text) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null; // e.g. an HTML error page from a proxy; fromBody reports it as unexpected
  }
}

function remember(session: SessionResponse): User {
  csrfToken = session.csrfToken;
  return session.user;
}

/** GET /api/me: the signed-in user; refreshes the CSRF token. 401 when not signed in. */
async function me(options: { sessionExpiry?: boolean } = {}): Promise<User> {
  return remember(await request<SessionResponse>('GET', '/me', options));
}

export const api = {
  health: () => request<{ status: 'ok' }>('GET', '/health'),

  /** Whether the instance still needs its first administrator. */
  setupStatus: async () => (await request<{ needed: boolean }>('GET', '/setup')).needed,

  /** Creates the first admin and signs the browser in. 409 setup_done once any user exists. */
  setup: async (input: Credentials) => remember(await request<SessionResponse>('POST', '/setup', { body: input })),

  /** 401 invalid_credentials (also for disabled users), 429 rate_limited. */
  login: async (input: Credentials) =>
    remember(await request<SessionResponse>('POST', '/auth/login', { body: input, sessionExpiry: false })),

  logout: async () => {
    try {
      await request<void>('POST', '/auth/logout', { sessionExpiry: false });
    } finally {
      csrfToken = null;
    }
  },

  me,

  /** 400 validation_failed with field currentPassword when it is wrong. */
  changePassword: (input: PasswordChange) => request<void>('PATCH', '/me/password', { body: input }),

  /** Admin only (403 forbidden otherwise), like everything below. */
  listUsers: async () => (await request<{ users: User[] }>('GET', '/users')).users,

  /** 409 conflict with field username when taken. */
  createUser: async (input: NewUser) => (await request<{ user: User }>('POST', '/users', { body: input })).user,

  getUser: async (id: number) => (await request<{ user: User }>('GET', `/users/${id}`)).user,

  /** 409 conflict when an admin tries to disable or demote themselves. */
  updateUser: async (id: number, patch: UserPatch) =>
    (await request<{ user: User }>('PATCH', `/users/${id}`, { body: patch })).user,

  /** 409 conflict when an admin tries to delete themselves. */
  deleteUser: (id: number) => request<void>('DELETE', `/users/${id}`),

  /** My own runtime. 503 service_unavailable when the container engine does not answer. */
  runtime: async () => (await request<{ runtime: Runtime }>('GET', '/runtime')).runtime,

  /**
   * Start, stop and restart answer when the operation is over (a start waits for the
   * health check: tens of seconds); follow `runtimeEvents` meanwhile. A failed start is
   * 502 runtime_failed, and the runtime then reports state `error` with the details.
   */
  startRuntime: async () => (await request<{ runtime: Runtime }>('POST', '/runtime/start')).runtime,
  stopRuntime: async () => (await request<{ runtime: Runtime }>('POST', '/runtime/stop')).runtime,
  restartRuntime: async () => (await request<{ runtime: Runtime }>('POST', '/runtime/restart')).runtime,

  /** The last `tail` lines my runtime logged, secrets redacted. 404 not_found before its first start. */
  runtimeLogs: (tail = 200) => request<string>('GET', `/runtime/logs?tail=${tail}`, { text: true }),

  runtimeEvents,
};

export interface RuntimeEventHandlers {
  /** The runtime as it is now: first thing after every (re)connection. */
  onState: (runtime: Runtime) => void;
  /** A step of an operation in progress. */
  onStep: (step: RuntimeStepEvent) => void;
  /**
   * The stream ended for good (e.g. 401 or 503: EventSource cannot tell which). The
   * browser itself reconnects after a dropped connection; this is only called when it gave up.
   */
  onClosed: () => void;
}

/** Opens GET /api/runtime/events; returns the function that closes it. */
function runtimeEvents(handlers: RuntimeEventHandlers): () => void {
  const source = new EventSource(`${BASE}/runtime/events`, { withCredentials: true });
  const parse = (event: MessageEvent<unknown>): unknown => {
    try {
      return typeof event.data === 'string' ? (JSON.parse(event.data) as unknown) : null;
    } catch {
      return null;
    }
  };
  source.addEventListener('state', (event) => {
    const data = parse(event);
    if (typeof data === 'object' && data !== null && 'state' in data) handlers.onState(data as Runtime);
  });
  source.addEventListener('step', (event) => {
    const data = parse(event);
    if (typeof data === 'object' && data !== null && 'step' in data) handlers.onStep(data as RuntimeStepEvent);
  });
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) handlers.onClosed();
  });
  return () => source.close();
}

export type { Role, Runtime, RuntimeStepEvent, User };
