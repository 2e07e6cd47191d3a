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
