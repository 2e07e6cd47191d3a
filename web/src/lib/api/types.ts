/** Shapes of the control-plane API (base path /api), as the server documents them. */

export type Role = 'admin' | 'user';

export interface User {
  id: number;
  username: string;
  role: Role;
  disabled: boolean;
  /** ISO 8601 timestamps. */
  createdAt: string;
  updatedAt: string;
  lastLoginAt: string | null;
}

export interface FieldErrorBody {
  field: string;
  message: string;
}

/** Every 4xx/5xx response carries this body. */
export interface ErrorBody {
  error: {
    code: string;
    message: string;
    fields?: FieldErrorBody[];
  };
}

export interface SessionResponse {
  user: User;
  csrfToken: string;
}

export interface Credentials {
  username: string;
  password: string;
}

export interface NewUser extends Credentials {
  role: Role;
}

export interface UserPatch {
  role?: Role;
  disabled?: boolean;
  password?: string;
}

export interface PasswordChange {
  currentPassword: string;
  newPassword: string;
}

/**
 * A runtime's state. Only `running` means its gateway answered its health check;
 * `creating`, `starting` and `stopping` are an operation in progress; `absent` means
 * it was never created (or was removed); `error` means the last start failed.
 */
export type RuntimeState = 'absent' | 'creating' | 'starting' | 'running' | 'stopping' | 'stopped' | 'error';

/** GET /api/runtime (and the answer of start/stop/restart). */
export interface Runtime {
  username: string;
  state: RuntimeState;
  /** The image it runs (or last ran); null before the first start. */
  image: string | null;
  /** ISO 8601; only while starting or running. */
  startedAt: string | null;
  /** Usage, only while the container runs. */
  memoryBytes: number | null;
  memoryLimitBytes: number | null;
  /** Like `docker stats`: 100 means one whole CPU. */
  cpuPercent: number | null;
  /** Configured limits; `custom` when an admin set them for this user. */
  limits: { memoryMb: number; cpus: number; custom: boolean };
  lastActivityAt: string | null;
  /** Set when `state` is `error`: why, and the last lines the runtime logged. */
  error: { message: string; logs?: string } | null;
  /** Something to know that is not an error (e.g. an upgrade that was rolled back). */
  notice: string | null;
  /** How it last ended without the platform asking (crash, kill, out of memory, removal). */
  lastExit: RuntimeExit | null;
  /** Where its Control UI opens: `<runtime origin>/u/<username>/`. */
  controlUiUrl: string;
}

export type RuntimeExitCause = 'out_of_memory' | 'killed' | 'signal' | 'exit_code' | 'removed';

/** What happened to a runtime behind the platform's back, and what was done about it. */
export interface RuntimeExit {
  /** ISO 8601. */
  at: string;
  cause: RuntimeExitCause;
  /** restarted: by Docker's restart policy; stopped: stays down; halted: kept crashing, stopped by the platform; removed: container gone; survived: a process was killed, the gateway kept running. */
  outcome: 'restarted' | 'stopped' | 'halted' | 'removed' | 'survived';
  exitCode: number | null;
  signal: string | null;
  memoryMb: number | null;
  crashes: number;
}

/** One step of a start, stop or restart, from GET /api/runtime/events (`event: step`). */
export interface RuntimeStepEvent {
  username: string;
  /** 'creating container' | 'starting' | 'waiting for health' | 'ready' | 'stopping' | 'stopped' | 'rolling back' | 'failed' | 'crashed' | 'notice' */
  step: string;
  /** ISO 8601, server clock. */
  at: string;
  /** Since the operation (stop or start) began. */
  elapsedMs: number;
  message?: string;
}

/** What a workspace entry is; a symlink is listed as itself, never followed. */
export type FileType = 'file' | 'folder' | 'symlink' | 'other';

/** One entry of GET /api/files. Paths are relative to the runtime's workspace. */
export interface FileEntry {
  name: string;
  type: FileType;
  /** Bytes; 0 for folders. */
  size: number;
  /** ISO 8601. */
  modifiedAt: string;
  /** Permission bits in octal, e.g. "0644". */
  mode: string;
  /** Symlinks only: where it points (null when unreadable). */
  linkTarget?: string | null;
}

/** GET /api/files/stat and the answers of saves, mkdir, move and copy. */
export interface FileStat extends FileEntry {
  /** Send it back as If-Match to save only over what you loaded. */
  etag: string;
}

/** GET /api/files: folders first, then by name; hidden entries included. */
export interface FolderListing {
  /** The folder, normalised ("" for the workspace). */
  path: string;
  entries: FileEntry[];
}

/** One file of a finished upload, its path relative to the workspace. */
export interface UploadedFile {
  path: string;
  size: number;
}

// --- the model layer: providers, models, limits and usage ---

/** LiteLLM, as the control plane last found it. `restarting` for a few seconds after every write. */
export type GatewayState = 'ready' | 'restarting' | 'unreachable' | 'not_set_up';

export interface GatewayStatus {
  state: GatewayState;
  message: string | null;
  /** ISO 8601: when the current configuration was applied; null before the first time. */
  appliedAt: string | null;
}

export type ProviderKind = 'openai' | 'anthropic' | 'openrouter' | 'openai_compatible' | 'gemini' | 'mistral' | 'groq' | 'deepseek' | 'ollama';

/** What the server knows about a kind of provider: whether it takes a base URL, where its key may come from. */
export interface ProviderKindInfo {
  kind: ProviderKind;
  label: string;
  baseUrl: 'required' | 'optional' | 'none';
  defaultBaseUrl: string | null;
  /** The .env variable LiteLLM reads this kind's key from (e.g. OPENAI_API_KEY), if any. */
  envVar: string | null;
  keyRequired: boolean;
  /** Example upstream model ids, e.g. ['gpt-4o-mini']. */
  examples: string[];
}

/** Where a provider's key comes from. The key itself is never sent back: only its last characters. */
export interface ProviderKey {
  source: 'stored' | 'env' | 'none';
  /** e.g. '…a1b2', for a stored key. */
  hint: string | null;
  envVar: string | null;
  /** Whether that .env variable is set on the server. */
  envPresent: boolean;
}

export interface ModelProvider {
  id: number;
  name: string;
  kind: ProviderKind;
  baseUrl: string | null;
  key: ProviderKey;
  modelCount: number;
  createdAt: string;
  updatedAt: string;
}

export type ModelAccess = 'everyone' | 'admins' | 'listed';

export interface Model {
  id: number;
  /** What users see and call. */
  name: string;
  providerId: number;
  /** The provider's own id for it. */
  upstreamModel: string;
  contextWindow: number;
  maxTokens: number;
  /** USD per million tokens; null when unknown (its cost then counts as 0). */
  inputPricePerMTok: number | null;
  outputPricePerMTok: number | null;
  enabled: boolean;
  isDefault: boolean;
  access: ModelAccess;
  /** Who may use it when `access` is `listed`. */
  allowedUserIds: number[];
  createdAt: string;
  updatedAt: string;
}

/** GET /api/admin/models. */
export interface ModelsOverview {
  gateway: GatewayStatus;
  kinds: ProviderKindInfo[];
  providers: ModelProvider[];
  models: Model[];
}

export interface NewProvider {
  name: string;
  kind: ProviderKind;
  baseUrl?: string | null;
  apiKey?: string;
}

/** `apiKey`: a string replaces the stored key, null removes it (the .env variable is then used, if any), absent leaves it. */
export interface ProviderPatch {
  name?: string;
  baseUrl?: string | null;
  apiKey?: string | null;
}

export interface ModelInput {
  name: string;
  providerId: number;
  upstreamModel: string;
  contextWindow?: number;
  maxTokens?: number;
  inputPricePerMTok?: number | null;
  outputPricePerMTok?: number | null;
  enabled?: boolean;
  isDefault?: boolean;
  access?: ModelAccess;
  allowedUserIds?: number[];
}

/** POST /api/admin/models/:id/check: one real one-token call through LiteLLM. */
export type ModelCheck = { ok: true; latencyMs: number } | { ok: false; message: string };

/** Per-user limits on model use; 0 means no limit. Tokens are prompt + completion; days and months are UTC. */
export interface ModelLimits {
  dailyTokens: number;
  monthlyTokens: number;
  dailyCostUsd: number;
  monthlyCostUsd: number;
  requestsPerMinute: number;
  concurrentRequests: number;
}

export type ModelLimitKey = keyof ModelLimits;

/** GET/PUT /api/admin/users/:id/model-limits. */
export interface UserModelLimits {
  defaults: ModelLimits;
  /** Only the keys an admin set for this user. */
  overrides: Partial<ModelLimits>;
  effective: ModelLimits;
}

/** PUT body: null (or absent) = use the default. */
export type ModelLimitsInput = { [K in ModelLimitKey]?: number | null };

export interface UsageTotals {
  requests: number;
  tokens: number;
  costUsd: number;
}

/** One model on one UTC day. */
export interface UsageDay {
  /** YYYY-MM-DD (UTC). */
  day: string;
  model: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  costUsd: number;
}

/** A model the signed-in user may call. */
export interface UsableModel {
  name: string;
  contextWindow: number;
  maxTokens: number;
  isDefault: boolean;
}

/** GET /api/me/usage. */
export interface MyUsage {
  today: UsageTotals;
  month: UsageTotals;
  /** The limits that apply to me (0 = none). */
  limits: ModelLimits;
  /** ISO 8601: when the day's and the month's counts start again. */
  resets: { day: string; month: string };
  days: UsageDay[];
  models: UsableModel[];
}

/** One user, model and UTC day in GET /api/admin/usage. `userId` is null for a deleted user. */
export interface UsageRow {
  day: string;
  userId: number | null;
  username: string;
  model: string;
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  costUsd: number;
}

/** GET /api/admin/usage (`to` inclusive). */
export interface UsageReport {
  from: string;
  to: string;
  rows: UsageRow[];
  totals: { requests: number; errors: number; tokens: number; costUsd: number };
}

// --- the audit log (admins) ---

export type AuditResult = 'success' | 'failure';

/** One entry of GET /api/audit. `actor` is null for a failed sign-in with an unknown name. */
export interface AuditEntry {
  id: number;
  at: string;
  actor: string | null;
  actorId: number | null;
  action: string;
  target: string | null;
  result: AuditResult;
  requestId: string | null;
  ip: string | null;
  detail: unknown;
}

/**
 * What GET /api/audit and its exports narrow by. `action` ending in "." (or ".*") is a prefix;
 * `from` and `to` are ISO 8601 (`to` not included).
 */
export interface AuditFilter {
  actor?: string;
  action?: string;
  target?: string;
  result?: AuditResult;
  from?: string;
  to?: string;
}

/** A page, newest first; `older` / `newer` are the cursors of the next pages, null at either end. */
export interface AuditPage {
  entries: AuditEntry[];
  older: number | null;
  newer: number | null;
}
