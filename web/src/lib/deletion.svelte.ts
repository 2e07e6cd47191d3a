/**
 * State of a "delete this?" dialog: what it asks about (`target`, null while closed) and the
 * Form of the delete call, whose busy flag and error the dialog shows (components/ConfirmDialog).
 *
 * The thing counts as gone when the call succeeds or the server answers not_found (someone
 * else deleted it first): the dialog closes and the caller updates its list. Any other failure
 * keeps the dialog open with the error, so the user can try again or cancel.
 */
import { isApiError, type CodeOverrides } from './api/errors';
import { Form } from './form.svelte';

export interface Deleted<T> {
  item: T;
  /** False: it was gone before this call (not_found); nothing to announce, but reload. */
  deleted: boolean;
}

export class Deletion<T> {
  target: T | null = $state(null);
  readonly form: Form;
  readonly #remove: (item: T) => Promise<unknown>;

  constructor(remove: (item: T) => Promise<unknown>, overrides: CodeOverrides = {}) {
    this.#remove = remove;
    this.form = new Form(overrides);
  }

  /** Opens the dialog on `item`, without the last attempt's error. */
  ask(item: T): void {
    this.form.reset();
    this.target = item;
  }

  cancel(): void {
    this.target = null;
  }

  /** Deletes the target; null while the dialog stays open (nothing asked, or the call failed). */
  async confirm(): Promise<Deleted<T> | null> {
    const item = this.target;
    if (item === null) return null;
    const deleted = await this.form.submit({}, async () => {
      await this.#remove(item);
    });
    if (!deleted && !(isApiError(this.form.error) && this.form.error.code === 'not_found')) return null;
    this.target = null;
    return { item, deleted };
  }
}
