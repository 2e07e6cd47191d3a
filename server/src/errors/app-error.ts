/**
 * The one error vocabulary of the platform. Services throw these; the HTTP
 * error middleware turns them into the single JSON error shape. `message` is
 * shown to users; `detail` goes to the log only (JupyterHub SpawnException).
 */
export interface FieldError {
  field: string;
  message: string;
}

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly options: { fields?: FieldError[]; detail?: string; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
  }

  get fields(): FieldError[] | undefined {
    return this.options.fields;
  }

  get detail(): string | undefined {
    return this.options.detail;
  }
}

export class ValidationError extends AppError {
  constructor(fields: FieldError[], message = 'Some fields are not valid.') {
    super(400, 'validation_failed', message, { fields });
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'Sign in first.', code = 'unauthorized') {
    super(401, code, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'You are not allowed to do this.', code = 'forbidden') {
    super(403, code, message);
  }
}

/** Not-found and not-yours look the same so nobody can probe other users' names. */
export class NotFoundError extends AppError {
  constructor(what = 'resource') {
    super(404, 'not_found', `That ${what} does not exist.`);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, options: { code?: string; fields?: FieldError[] } = {}) {
    super(409, options.code ?? 'conflict', message, { fields: options.fields });
  }
}

export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds: number) {
    super(429, 'rate_limited', 'Too many attempts. Wait a while and try again.', {
      headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
    });
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(message: string, detail?: string) {
    super(503, 'service_unavailable', message, { detail });
  }
}

/** The client went away before its answer (nginx's 499, "client closed request"): nothing to tell anyone, nothing to log. */
export class ClientGoneError extends AppError {
  constructor() {
    super(499, 'client_gone', 'The client closed the request.');
  }
}
