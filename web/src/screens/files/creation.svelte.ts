/**
 * The "new folder" / "new text file" dialog: `kind` is null while it is closed. The name is taken
 * below the folder shown (slashes around it dropped). A name that is taken already is said next to
 * the field; a new text file is created empty and opens in the editor.
 */
import { api } from '../../lib/api/client';
import { isApiError } from '../../lib/api/errors';
import { joinPath } from '../../lib/files';
import { Form } from '../../lib/form.svelte';
import type { FilesView } from './files-view.svelte';
import { overrides } from './text';

export type NewKind = 'folder' | 'text';

export class Creation {
  kind: NewKind | null = $state(null);
  name = $state('');
  readonly form = new Form(overrides);
  readonly #view: FilesView;

  constructor(view: FilesView) {
    this.#view = view;
  }

  /** Where it will be made. */
  get folder(): string {
    return this.#view.folder;
  }

  ask(kind: NewKind): void {
    this.form.reset();
    this.name = '';
    this.#view.done = null;
    this.kind = kind;
  }

  close(): void {
    this.kind = null;
  }

  async confirm(): Promise<void> {
    const view = this.#view;
    const kind = this.kind;
    const name = this.name.trim().replace(/^\/+|\/+$/g, '');
    if (!kind) return;
    const path = joinPath(view.folder, name);
    const ok = await this.form.submit({ path: !name && 'fieldError.required' }, async () => {
      if (kind === 'folder') await api.makeFolder(path);
      else await api.saveTextFile(path, '', 'create');
    });
    if (!ok && isApiError(this.form.error) && this.form.error.code === 'precondition_failed') {
      this.form.local = { path: 'files.error.nameTaken' };
      this.form.error = null;
    }
    if (!ok) return;
    this.kind = null;
    view.done = { key: kind === 'folder' ? 'files.done.folder' : 'files.done.textFile', params: { name } };
    await view.load();
    if (kind === 'text') view.editing = path;
  }
}
