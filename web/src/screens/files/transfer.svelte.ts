/**
 * The rename / move and copy dialog over the selection: `job` is null while it is closed. One item
 * gets a new path (a copy's is proposed: "name (copy).ext"); several go into a destination folder.
 * Items go one by one: a failure keeps the dialog open on those still to do, and a target that
 * exists offers to replace it.
 */
import { api } from '../../lib/api/client';
import { isApiError } from '../../lib/api/errors';
import { baseName, joinPath } from '../../lib/files';
import { Form } from '../../lib/form.svelte';
import { t, type MessageKey } from '../../lib/i18n/index.svelte';
import type { FilesView } from './files-view.svelte';
import { folderLabel, overrides } from './text';

export interface TransferJob {
  kind: 'move' | 'copy';
  /** Paths still to do (all of them until the first failure). */
  items: string[];
  /** One item: its new path; several: the destination folder. */
  single: boolean;
}

function copyName(name: string): string {
  const dot = name.lastIndexOf('.');
  const stem = dot > 0 ? name.slice(0, dot) : name;
  return `${stem} ${t('files.copySuffix')}${dot > 0 ? name.slice(dot) : ''}`;
}

export class Transfer {
  job: TransferJob | null = $state(null);
  target = $state('');
  /** The last try stopped at a target that exists: the dialog offers to replace it. */
  taken = $state(false);
  readonly form = new Form(overrides);
  readonly #view: FilesView;

  constructor(view: FilesView) {
    this.#view = view;
  }

  ask(kind: 'move' | 'copy'): void {
    const view = this.#view;
    const items = view.selectedEntries.map(view.pathOf);
    if (items.length === 0) return;
    this.form.reset();
    this.taken = false;
    view.done = null;
    const single = items.length === 1;
    this.target = single ? (kind === 'copy' ? joinPath(view.folder, copyName(view.selectedEntries[0]!.name)) : items[0]!) : view.folder;
    this.job = { kind, items, single };
  }

  close(): void {
    this.job = null;
  }

  async confirm(replace = false): Promise<void> {
    const view = this.#view;
    const current = this.job;
    if (!current) return;
    const target = this.target.trim().replace(/^\/+|\/+$/g, '');
    this.taken = false;
    let count = 0;
    const ok = await this.form.submit({ to: current.single && !target && 'fieldError.required' }, async () => {
      for (const from of [...current.items]) {
        const to = current.single ? target : joinPath(target, baseName(from));
        await (current.kind === 'move' ? api.moveFile(from, to, replace) : api.copyFile(from, to, replace));
        current.items = current.items.filter((item) => item !== from);
        count += 1;
      }
    });
    if (count > 0) void view.load();
    if (!ok) {
      this.taken = isApiError(this.form.error) && this.form.error.code === 'exists';
      return;
    }
    this.job = null;
    view.selected.clear();
    const key: MessageKey = current.single
      ? current.kind === 'move' ? 'files.done.movedOne' : 'files.done.copiedOne'
      : current.kind === 'move' ? 'files.done.moved' : 'files.done.copied';
    view.done = { key, params: { n: count, target: folderLabel(target) } };
  }
}
