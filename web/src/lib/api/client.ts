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
 *   screens never build API URLs themselves; so are the addresses of file downloads
 *   (plain links, so the browser streams them to disk) and uploads (XMLHttpRequest,
 *   the one browser API that reports upload progress).
 */
import { ApiError, NETWORK_ERROR, UPLOAD_CANCELLED } from './errors';
import type {
  AuditFilter,
  AuditPage,
  Credentials,
  FileEntry,
  FileStat,
  FolderListing,
  Model,
  ModelCheck,
  ModelInput,
  ModelLimitsInput,
  ModelProvider,
  ModelsOverview,
  MyUsage,
  NewProvider,
  NewUser,
  PasswordChange,
  ProviderPatch,
  Role,
  Runtime,
  RuntimeStepEvent,
  SessionResponse,
  UploadedFile,
  UsageReport,
  User,
  UserModelLimits,
  UserPatch,
} from './types';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface RequestOptions {
  /** Body to send as JSON. */
  body?: unknown;
  /** Body to send as it is (with `contentType`), e.g. a text file being saved. */
  raw?: string;
  contentType?: string;
  /** More request headers (e.g. If-Match). */
  headers?: Record<string, string>;
  /** When false, a 401 is only thrown, not treated as "session ended". */
  sessionExpiry?: boolean;
  /** Internal: whether a csrf_invalid answer may be retried with a fresh token. */
  csrfRetry?: boolean;
  /** Return the body as plain text (errors are still read as JSON). */
  text?: boolean;
  /** Return the body as bytes, never from the browser's cache (errors are still read as JSON). */
  bytes?: boolean;
}

const BASE = '/api';
let csrfToken: string | null = null;
let sessionEnded: (() => void) | null = null;

/** Registers what happens when the server says the session is gone (401 mid-session). */
export function onSessionEnded(handler: () => void): void {
  sessionEnded = handler;
}

const networkError = (cause: unknown): ApiError => new ApiError(0, NETWORK_ERROR, cause instanceof Error ? cause.message : 'Network error');

/** One call; answers the parsed body and the response headers (for ETags). */
async function exchange<T>(method: Method, path: string, options: RequestOptions = {}): Promise<{ data: T; headers: Headers }> {
  const { body, raw, contentType, sessionExpiry = true, csrfRetry = true, text = false, bytes = false } = options;
  const headers: Record<string, string> = { Accept: text ? 'text/plain, application/json' : bytes ? '*/*' : 'application/json', ...options.headers };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (raw !== undefined && contentType) headers['Content-Type'] = contentType;
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;

  let response: Response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers,
      credentials: 'same-origin',
      // File content carries Last-Modified but no Cache-Control: never let a heuristic cache answer.
      cache: bytes ? 'no-store' : 'default',
      body: body === undefined ? raw : JSON.stringify(body),
    });
  } catch (cause) {
    throw networkError(cause);
  }

  if (response.status === 204) return { data: undefined as T, headers: response.headers };
  if ((text || bytes) && response.ok) {
    try {
      return { data: (text ? await response.text() : await response.arrayBuffer()) as T, headers: response.headers };
    } catch (cause) {
      throw networkError(cause);
    }
  }
  const parsed = await readJson(response);

  if (response.ok) return { data: parsed as T, headers: response.headers };
  const error = ApiError.fromBody(response.status, parsed);
  if (await endedOrRetry(error, sessionExpiry, csrfRetry)) return exchange<T>(method, path, { ...options, csrfRetry: false });
  throw error;
}

async function request<T>(method: Method, path: string, options: RequestOptions = {}): Promise<T> {
  return (await exchange<T>(method, path, options)).data;
}

/**
 * What a failed call means beyond itself: a 401 ends the session (when `sessionExpiry`);
 * a csrf_invalid refreshes the token and answers true when the call may be tried once more.
 */
async function endedOrRetry(error: ApiError, sessionExpiry: boolean, csrfRetry: boolean): Promise<boolean> {
  if (error.status === 401 && sessionExpiry) {
    csrfToken = null;
    sessionEnded?.();
  } else if (error.code === 'csrf_invalid' && csrfRetry) {
    // The session may still be fine with a newer token; fetch it and try once more.
    await me().catch(() => undefined);
    return true;
  }
  return false;
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

  // --- files in my runtime's workspace (paths relative to it, "" = the workspace) ---
  // The first call on a stopped runtime starts its container first: a second or two.

  /** 404 not_found, 400 not_a_folder / outside_workspace / validation_failed (field path). */
  listFiles: (path: string) => request<FolderListing>('GET', `/files?path=${encodeURIComponent(path)}`),

  /** One entry, symlinks resolved (inside the workspace only: else 400 outside_workspace). */
  statFile: async (path: string) => (await request<{ file: FileStat }>('GET', `/files/stat?path=${encodeURIComponent(path)}`)).file,

  /**
   * A file's bytes and its ETag, for the editor (downloads use `fileDownloadUrl`).
   * 400 is_a_folder, 404 not_found.
   */
  readFile: async (path: string) => {
    const { data, headers } = await exchange<ArrayBuffer>('GET', `/files/content?path=${encodeURIComponent(path)}`, { bytes: true });
    return { bytes: data, etag: headers.get('ETag') ?? '' };
  },

  /**
   * Saves a text edit over the version with `etag` (412 precondition_failed when the file
   * changed since), or creates a new file with `'create'` (412 when it exists already).
   */
  saveTextFile: async (path: string, text: string, over: { etag: string } | 'create') =>
    (
      await request<{ file: FileStat }>('PUT', `/files/content?path=${encodeURIComponent(path)}`, {
        raw: text,
        contentType: 'text/plain; charset=utf-8',
        headers: over === 'create' ? { 'If-None-Match': '*' } : { 'If-Match': over.etag },
      })
    ).file,

  /** Makes the folder and any missing parents. 409 exists. */
  makeFolder: async (path: string) => (await request<{ file: FileStat }>('POST', '/files/mkdir', { body: { path } })).file,

  /** Moves or renames. 409 exists when `to` is taken (unless `replace`). */
  moveFile: async (from: string, to: string, replace = false) =>
    (await request<{ file: FileStat }>('POST', '/files/move', { body: { from, to, replace } })).file,

  /** Copies, folders with everything in them. 409 exists when `to` is taken (unless `replace`). */
  copyFile: async (from: string, to: string, replace = false) =>
    (await request<{ file: FileStat }>('POST', '/files/copy', { body: { from, to, replace } })).file,

  /** Deletes; folders with everything in them. */
  deleteFile: (path: string) => request<void>('DELETE', `/files?path=${encodeURIComponent(path)}`),

  uploadFiles,

  /**
   * Where a file downloads from (Content-Disposition: attachment). `version` (e.g. its
   * modified time and size) only makes the address change with the file, so the
   * browser never hands out a copy it kept of an older one.
   */
  fileDownloadUrl: (path: string, version?: string) =>
    `${BASE}/files/content?path=${encodeURIComponent(path)}${version ? `&v=${encodeURIComponent(version)}` : ''}`,

  /** Where a zip of these files and folders downloads from. */
  archiveUrl: (paths: readonly string[]) => `${BASE}/files/archive?${paths.map((path) => `path=${encodeURIComponent(path)}`).join('&')}`,

  // --- the model layer (admin: providers, models, limits, everyone's usage) ---
  // Every write re-applies LiteLLM's configuration: the gateway says `restarting` for a few seconds after.

  /** The gateway's state, the kinds of provider, the providers and the models. */
  modelsOverview: () => request<ModelsOverview>('GET', '/admin/models'),

  /** 409 conflict with field name when taken; 400 validation_failed with fields. */
  createProvider: async (input: NewProvider) => (await request<{ provider: ModelProvider }>('POST', '/admin/model-providers', { body: input })).provider,

  updateProvider: async (id: number, patch: ProviderPatch) =>
    (await request<{ provider: ModelProvider }>('PATCH', `/admin/model-providers/${id}`, { body: patch })).provider,

  /** 409 provider_in_use while models use it. */
  deleteProvider: (id: number) => request<void>('DELETE', `/admin/model-providers/${id}`),

  createModel: async (input: ModelInput) => (await request<{ model: Model }>('POST', '/admin/models', { body: input })).model,

  updateModel: async (id: number, patch: Partial<ModelInput>) => (await request<{ model: Model }>('PATCH', `/admin/models/${id}`, { body: patch })).model,

  deleteModel: (id: number) => request<void>('DELETE', `/admin/models/${id}`),

  /** A real one-token call through LiteLLM: up to ~30 s. A failed call is an answer (`ok: false`), not an error. */
  checkModel: (id: number) => request<ModelCheck>('POST', `/admin/models/${id}/check`),

  userModelLimits: (userId: number) => request<UserModelLimits>('GET', `/admin/users/${userId}/model-limits`),

  /** null (or absent) = use the default; 0 = no limit. Answers like userModelLimits. */
  setUserModelLimits: (userId: number, limits: ModelLimitsInput) =>
    request<UserModelLimits>('PUT', `/admin/users/${userId}/model-limits`, { body: limits }),

  /** Everyone's use by day, user and model; `to` inclusive (YYYY-MM-DD, UTC). Default: the last 30 days. */
  usageReport: (range: { from?: string; to?: string } = {}) => request<UsageReport>('GET', `/admin/usage${rangeQuery(range)}`),

  /** Where the same rows download from as CSV (a plain link: Content-Disposition attachment). */
  usageCsvUrl: (range: { from?: string; to?: string } = {}) => `${BASE}/admin/usage.csv${rangeQuery(range)}`,

  /** My own use: today, this month, my limits, the last `days` days and the models I may call. */
  myUsage: (days = 30) => request<MyUsage>('GET', `/me/usage?days=${days}`),

  // --- the audit log (admins) ---

  /** One page, newest first: `before` an entry id for older ones, `after` for newer ones. 400 validation_failed with fields. */
  auditLog: (filter: AuditFilter, page: { limit?: number; before?: number; after?: number } = {}) =>
    request<AuditPage>('GET', `/audit${auditQuery({ ...filter, ...page })}`),

  /** Where every matching entry downloads from (a plain link: Content-Disposition attachment). */
  auditExportUrl: (format: 'csv' | 'jsonl', filter: AuditFilter) => `${BASE}/audit.${format}${auditQuery(filter)}`,
};

function auditQuery(fields: AuditFilter & { limit?: number; before?: number; after?: number }): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) if (value !== undefined && value !== '') query.set(name, String(value));
  const text = query.toString();
  return text ? `?${text}` : '';
}

function rangeQuery(range: { from?: string; to?: string }): string {
  const query = new URLSearchParams();
  if (range.from) query.set('from', range.from);
  if (range.to) query.set('to', range.to);
  const text = query.toString();
  return text ? `?${text}` : '';
}

/** A file to upload and the name it gets below the target folder ("docs/a.txt" makes docs/). */
export interface UploadItem {
  file: Blob;
  name: string;
}

export interface UploadOptions {
  /** Overwrite files that exist (else the whole upload is refused: 409 exists, fields = the paths). */
  replace?: boolean;
  /** Bytes of the request sent so far, of `total` (0 while unknown). */
  onProgress?: (sent: number, total: number) => void;
  /** Aborting cancels the upload: nothing of it is kept (ApiError upload_cancelled). */
  signal?: AbortSignal;
}

/**
 * POST /api/files/upload. One file goes as the plain request body (?name=), which the server
 * streams on without parsing: the fast path for big files. Several go as multipart/form-data,
 * every file in the field `files`, its name (with folders, for folder uploads) as the part's
 * filename. All or nothing either way: 409 exists, 413 file_too_large, 400 is_a_folder /
 * invalid_upload / validation_failed.
 */
function uploadFiles(folder: string, items: readonly UploadItem[], options: UploadOptions = {}, csrfRetry = true): Promise<UploadedFile[]> {
  const { replace = false, onProgress, signal } = options;
  const single = items.length === 1 ? items[0]! : null;
  let body: Blob | FormData;
  if (single) body = single.file;
  else {
    body = new FormData();
    for (const { file, name } of items) body.append('files', file, name);
  }
  const url = `${BASE}/files/upload?path=${encodeURIComponent(folder)}${single ? `&name=${encodeURIComponent(single.name)}` : ''}${replace ? '&replace=true' : ''}`;

  return new Promise<UploadedFile[]>((resolve, reject) => {
    if (signal?.aborted) return reject(new ApiError(0, UPLOAD_CANCELLED, 'The upload was cancelled.'));
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.withCredentials = true;
    xhr.setRequestHeader('Accept', 'application/json');
    if (csrfToken) xhr.setRequestHeader('X-CSRF-Token', csrfToken);
    // A file's own type (text/plain, say) must not be mistaken for a form: bytes are bytes.
    if (single) xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.addEventListener('progress', (event) => onProgress?.(event.loaded, event.lengthComputable ? event.total : 0));
    xhr.addEventListener('error', () => reject(networkError(null)));
    xhr.addEventListener('abort', () => reject(new ApiError(0, UPLOAD_CANCELLED, 'The upload was cancelled.')));
    xhr.addEventListener('load', () => {
      let body: unknown = null;
      try {
        body = xhr.responseText ? (JSON.parse(xhr.responseText) as unknown) : null;
      } catch {
        // not JSON: reported as unexpected below
      }
      if (xhr.status === 201 && typeof body === 'object' && body !== null && 'files' in body && Array.isArray(body.files)) {
        return resolve(body.files as UploadedFile[]);
      }
      const error = xhr.status >= 200 && xhr.status < 300 ? ApiError.fromBody(xhr.status, null) : ApiError.fromBody(xhr.status, body);
      endedOrRetry(error, true, csrfRetry).then(
        (retry) => (retry ? uploadFiles(folder, items, options, false).then(resolve, reject) : reject(error)),
        () => reject(error),
      );
    });
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}

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

export type { FileEntry, FileStat, FolderListing, Role, Runtime, RuntimeStepEvent, UploadedFile, User };
