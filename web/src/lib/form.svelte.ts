/**
 * State of one form submission: busy flag, the last failure, and the field messages
 * to show next to inputs (local checks such as "passwords do not match" merged with
 * the server's field errors). Text is computed on read, so it follows the language.
 */
import { errorMessage, fieldErrors, type CodeOverrides } from './api/errors';
import { t, type MessageKey } from './i18n/index.svelte';

/** Local checks: field name -> problem, or null/false when the field is fine. */
export type Checks = Record<string, MessageKey | null | false>;

export class Form {
  busy = $state(false);
  error: unknown = $state(null);
  local: Partial<Record<string, MessageKey>> = $state({});
  #overrides: CodeOverrides;

  constructor(overrides: CodeOverrides = {}) {
    this.#overrides = overrides;
  }

  /** Summary line for the whole form, or null. */
  get message(): string | null {
    return errorMessage(this.error, this.#overrides);
  }

  /** Message per field name, local checks first. */
  get fields(): Record<string, string> {
    const result = fieldErrors(this.error);
    for (const [field, key] of Object.entries(this.local)) {
      if (key) result[field] = t(key);
    }
    return result;
  }

  /**
   * Runs local checks (nothing is sent if one fails), then the action. Failures are
   * kept for display; returns whether the action succeeded.
   */
  async submit(checks: Checks, action: () => Promise<void>): Promise<boolean> {
    if (this.busy) return false;
    const local: Partial<Record<string, MessageKey>> = {};
    for (const [field, problem] of Object.entries(checks)) {
      if (problem) local[field] = problem;
    }
    this.local = local;
    this.error = null;
    if (Object.keys(local).length > 0) return false;

    this.busy = true;
    try {
      await action();
      return true;
    } catch (error) {
      this.error = error;
      return false;
    } finally {
      this.busy = false;
    }
  }

  reset(): void {
    this.error = null;
    this.local = {};
  }
}
