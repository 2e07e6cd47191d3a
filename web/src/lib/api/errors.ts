/**
 * The one place that turns failures into what the user reads: a translated summary
 * message and per-field messages for forms.
 *
 * The server's error body is `{ error: { code, message, fields? } }`. Known codes map to
 * translated text; unknown codes fall back to the server's own message. Field messages
 * are translated for the (code, field) pairs we know, else shown as the server wrote them.
 * Call these from templates or `$derived` so the text follows a language switch.
 */
import { t, type MessageKey } from '../i18n/index.svelte';
import type { ErrorBody, FieldErrorBody } from './types';

/** Codes the client itself produces when there is no usable server error body. */
export const NETWORK_ERROR = 'network_error';
export const UNEXPECTED_RESPONSE = 'unexpected_response';
/** An upload the user cancelled (nothing of it was kept). */
export const UPLOAD_CANCELLED = 'upload_cancelled';

export class ApiError extends Error {
  constructor(
    /** HTTP status; 0 when the request never got a response. */
    readonly status: number,
    readonly code: string,
    /** The server's own (English) message: the fallback text and useful for logs. */
    message: string,
    readonly fields: readonly FieldErrorBody[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Builds the error from a parsed response body, whatever shape it turned out to have. */
  static fromBody(status: number, body: unknown): ApiError {
    if (isErrorBody(body)) {
      const { code, message, fields } = body.error;
      return new ApiError(status, code, message, Array.isArray(fields) ? fields.filter(isFieldError) : []);
    }
    return new ApiError(status, UNEXPECTED_RESPONSE, `Unexpected response (HTTP ${status})`);
  }
}

function isErrorBody(body: unknown): body is ErrorBody {
  if (typeof body !== 'object' || body === null || !('error' in body)) return false;
  const error: unknown = body.error;
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    typeof error.code === 'string' &&
    'message' in error &&
    typeof error.message === 'string'
  );
}

function isFieldError(value: unknown): value is FieldErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    'field' in value &&
    typeof value.field === 'string' &&
    'message' in value &&
    typeof value.message === 'string'
  );
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError;
}

const codeMessages: Record<string, MessageKey> = {
  validation_failed: 'error.validation_failed',
  invalid_json: 'error.invalid_json',
  payload_too_large: 'error.payload_too_large',
  unauthorized: 'error.unauthorized',
  invalid_credentials: 'error.invalid_credentials',
  forbidden: 'error.forbidden',
  csrf_invalid: 'error.csrf_invalid',
  session_cookie_conflict: 'error.session_cookie_conflict',
  not_found: 'error.not_found',
  conflict: 'error.conflict',
  own_account: 'error.own_account',
  last_admin: 'error.last_admin',
  setup_done: 'error.setup_done',
  rate_limited: 'error.rate_limited',
  service_unavailable: 'error.service_unavailable',
  runtime_failed: 'error.runtime_failed',
  internal: 'error.internal',
  [NETWORK_ERROR]: 'error.network',
  [UPLOAD_CANCELLED]: 'error.upload_cancelled',
  runtime_starting: 'error.runtime_starting',
  files_failed: 'error.files_failed',
  runtime_interrupted: 'error.runtime_interrupted',
  runtime_unreachable: 'error.runtime_unreachable',
  precondition_required: 'error.precondition_required',
  upload_incomplete: 'error.upload_incomplete',
  request_aborted: 'error.upload_incomplete',
  provider_in_use: 'error.provider_in_use',
};

/**
 * Codes of the files API whose server message names what is concerned (a path, a limit):
 * the translation says what happened and quotes that message as `{detail}`. Their
 * `fields`, where present, list paths, not form fields.
 */
const detailMessages: Record<string, MessageKey> = {
  exists: 'error.exists',
  outside_workspace: 'error.outside_workspace',
  symlink: 'error.symlink',
  is_a_folder: 'error.is_a_folder',
  not_a_folder: 'error.not_a_folder',
  invalid: 'error.files_invalid',
  file_too_large: 'error.file_too_large',
  empty_upload: 'error.empty_upload',
  invalid_upload: 'error.invalid_upload',
  precondition_failed: 'error.precondition_failed',
  range_not_satisfiable: 'error.range_not_satisfiable',
  symlink_loop: 'error.symlink_loop',
  permission_denied: 'error.permission_denied',
  no_space: 'error.no_space',
};

/** Field messages we can translate, keyed by `code:field`. */
const fieldMessages: Record<string, MessageKey> = {
  'validation_failed:username': 'fieldError.username',
  'validation_failed:password': 'fieldError.password',
  'validation_failed:newPassword': 'fieldError.password',
  'validation_failed:currentPassword': 'fieldError.currentPasswordWrong',
  'validation_failed:role': 'fieldError.role',
  'conflict:username': 'fieldError.usernameTaken',
  'provider_exists:name': 'fieldError.nameTaken',
  'model_exists:name': 'fieldError.nameTaken',
};

/**
 * Per-screen wording for a code, e.g. a 409 on the users screen means "not on yourself".
 * The text may quote the server's message as `{detail}` and the field problems as `{fields}`.
 */
export type CodeOverrides = Partial<Record<string, MessageKey>>;

/** The summary line for any thrown value; null when there is nothing to show. */
export function errorMessage(error: unknown, overrides: CodeOverrides = {}): string | null {
  if (error === null || error === undefined) return null;
  if (!isApiError(error)) return t('error.client');
  // With field errors the fields carry the detail; the summary only points at them.
  const key =
    overrides[error.code] ??
    detailMessages[error.code] ??
    (error.fields.length > 0 ? 'error.validation_failed' : codeMessages[error.code]);
  const fields = error.fields.map(({ field, message }) => `${field} ${message}`).join('; ');
  if (key) return t(key, { detail: error.message, fields });
  if (error.code === UNEXPECTED_RESPONSE) return t('error.unexpected', { status: error.status });
  return error.message || t('error.unexpected', { status: error.status });
}

/** Messages per form field name (as the API names them), for showing next to inputs. */
export function fieldErrors(error: unknown): Record<string, string> {
  const result: Record<string, string> = {};
  if (!isApiError(error)) return result;
  for (const { field, message } of error.fields) {
    if (field in result) continue; // first problem per field is enough to act on
    const key = fieldMessages[`${error.code}:${field}`];
    result[field] = key ? t(key) : message;
  }
  return result;
}
