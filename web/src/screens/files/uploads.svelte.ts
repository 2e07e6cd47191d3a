/**
 * Uploads into the workspace, one at a time: files and folders picked with the buttons or dropped
 * on the listing. `current` is the upload under way with the share of its request sent (the
 * runtime then saves it); cancelling keeps nothing of it. A clash with files that exist sends
 * nothing and asks first (`replacing`); replacing sends the same files again with replace on.
 */
import { api, type UploadItem } from '../../lib/api/client';
import { isApiError, UPLOAD_CANCELLED } from '../../lib/api/errors';
import { fromDrop, fromInput } from '../../lib/files';
import type { FilesView } from './files-view.svelte';

export interface UploadProgress {
  count: number;
  bytes: number;
  /** 0..1 of the request sent. */
  fraction: number;
  folder: string;
}

export interface ReplacePrompt {
  items: UploadItem[];
  folder: string;
  /** The files that exist, relative to the workspace. */
  paths: string[];
}

export class Uploads {
  current: UploadProgress | null = $state(null);
  replacing: ReplacePrompt | null = $state(null);
  sentBytes = $derived(this.current ? Math.round(this.current.fraction * this.current.bytes) : 0);
  #abort: AbortController | null = null;
  readonly #view: FilesView;

  constructor(view: FilesView) {
    this.#view = view;
  }

  async send(items: UploadItem[], target: string, replace = false): Promise<void> {
    const view = this.#view;
    if (items.length === 0 || this.current) return;
    view.done = null;
    view.actionError = null;
    const controller = new AbortController();
    this.#abort = controller;
    this.current = { count: items.length, bytes: items.reduce((sum, item) => sum + item.file.size, 0), fraction: 0, folder: target };
    try {
      const uploaded = await api.uploadFiles(target, items, {
        replace,
        signal: controller.signal,
        onProgress: (sent, total) => {
          if (this.current && total > 0) this.current.fraction = Math.min(1, sent / total);
        },
      });
      view.done = { key: replace ? 'files.done.replaced' : 'files.done.uploaded', params: { n: uploaded.length } };
      if (target === view.folder) await view.load();
    } catch (error) {
      if (isApiError(error) && error.code === 'exists' && !replace && error.fields.length > 0) {
        this.replacing = { items, folder: target, paths: error.fields.map((field) => field.field) };
      } else if (isApiError(error) && error.code === UPLOAD_CANCELLED) {
        view.done = { key: 'files.done.cancelled', tone: 'info' };
      } else {
        view.actionError = error;
      }
    } finally {
      this.current = null;
      this.#abort = null;
    }
  }

  /** Files chosen in a file input, into the folder shown; the input is emptied for the next pick. */
  pick(input: HTMLInputElement, withFolders: boolean): void {
    const items = fromInput(input.files, withFolders);
    input.value = ''; // the same files can be picked again
    void this.send(items, this.#view.folder);
  }

  /** What was dropped, into the folder shown. Call it while the drop event runs: its data goes after. */
  async drop(data: DataTransfer): Promise<void> {
    const target = this.#view.folder;
    try {
      await this.send(await fromDrop(data), target);
    } catch (error) {
      this.#view.actionError = error; // a dropped folder that could not be read
    }
  }

  cancel(): void {
    this.#abort?.abort();
  }

  confirmReplace(): void {
    const pending = this.replacing;
    this.replacing = null;
    if (pending) void this.send(pending.items, pending.folder, true);
  }

  keep(): void {
    this.replacing = null;
  }
}
