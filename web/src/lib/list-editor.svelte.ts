/**
 * State of a card that lists things an admin adds, edits and deletes in dialogs (model providers,
 * models; components/ListCard shows it): the add / edit dialog, the delete dialog, and the line
 * saying what was done last.
 *
 * `editing` is undefined while the add / edit dialog is closed, null while it adds, else the item
 * it edits. Opening either dialog clears the "done" line; a save or a delete sets it (in the
 * language of that moment) and reloads the list, as does a delete that found the item gone.
 */
import { Deletion } from './deletion.svelte';
import { t, type MessageKey, type MessageParams } from './i18n/index.svelte';

/** The texts of a list card, all under one prefix: `<prefix>.title`, `<prefix>.done.saved`, ... */
export type ListMessage = 'title' | 'intro' | 'add' | 'deleteTitle' | 'deleteBody' | 'done.created' | 'done.saved' | 'done.deleted';

/** The prefixes under which the dictionary has every ListMessage. */
export type ListMessages = {
  [K in MessageKey]: K extends `${infer P}.done.deleted` ? (`${P}.${ListMessage}` extends MessageKey ? P : never) : never;
}[MessageKey];

export interface ListEditorOptions<T> {
  remove: (item: T) => Promise<unknown>;
  /** Fetches the list again after every change. */
  reload: () => Promise<void>;
  messages: ListMessages;
}

export class ListEditor<T extends { name: string }> {
  done: string | null = $state(null);
  editing: T | null | undefined = $state(undefined);
  readonly deletion: Deletion<T>;
  readonly #options: ListEditorOptions<T>;

  constructor(options: ListEditorOptions<T>) {
    this.#options = options;
    this.deletion = new Deletion(options.remove);
  }

  /** One of this list's texts; `done.*` and `deleteTitle` take the item's {name}. */
  text(message: ListMessage, params?: MessageParams): string {
    // ListMessages admits only prefixes that have every ListMessage.
    return t(`${this.#options.messages}.${message}` as MessageKey, params);
  }

  /** Opens the add (null) or edit dialog. */
  open(item: T | null): void {
    this.done = null;
    this.editing = item;
  }

  close(): void {
    this.editing = undefined;
  }

  /** The add / edit dialog saved `item`. */
  async saved(item: T, created: boolean): Promise<void> {
    this.editing = undefined;
    this.done = this.text(created ? 'done.created' : 'done.saved', { name: item.name });
    await this.#options.reload();
  }

  askDelete(item: T): void {
    this.done = null;
    this.deletion.ask(item);
  }

  async confirmDelete(): Promise<void> {
    const result = await this.deletion.confirm();
    if (!result) return;
    if (result.deleted) this.done = this.text('done.deleted', { name: result.item.name });
    await this.#options.reload();
  }
}
