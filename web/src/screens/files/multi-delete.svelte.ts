/**
 * The dialog that deletes the selection: `entries` is null while it is closed. Items go one by
 * one; one that is gone already counts as deleted. A failure keeps the dialog open with the error
 * on those still selected, and the listing is read again for what did go. (lib/deletion.svelte.ts
 * is the one-item version: all or nothing.)
 */
import { api } from '../../lib/api/client';
import { isApiError } from '../../lib/api/errors';
import type { FileEntry } from '../../lib/api/types';
import { Form } from '../../lib/form.svelte';
import type { FilesView } from './files-view.svelte';
import { overrides } from './text';

export class MultiDelete {
  entries: FileEntry[] | null = $state(null);
  readonly form = new Form(overrides);
  /** Folders go with everything in them: the dialog says so. */
  hasFolders = $derived((this.entries ?? []).some((entry) => entry.type === 'folder'));
  readonly #view: FilesView;

  constructor(view: FilesView) {
    this.#view = view;
  }

  ask(): void {
    const view = this.#view;
    if (view.selectedEntries.length === 0) return;
    this.form.reset();
    view.done = null;
    this.entries = [...view.selectedEntries];
  }

  close(): void {
    this.entries = null;
  }

  async confirm(): Promise<void> {
    const view = this.#view;
    const list = this.entries;
    if (!list) return;
    let count = 0;
    const ok = await this.form.submit({}, async () => {
      for (const entry of list) {
        try {
          await api.deleteFile(view.pathOf(entry));
        } catch (error) {
          if (!(isApiError(error) && error.code === 'not_found')) throw error; // gone already: fine
        }
        view.selected.delete(entry.name);
        count += 1;
      }
    });
    if (count > 0) void view.load();
    if (!ok) return;
    this.entries = null;
    view.done = { key: 'files.done.deleted', params: { n: count } };
  }
}
