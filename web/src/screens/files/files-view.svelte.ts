/**
 * What the Files screen's parts share: the folder shown (it is in the address, #/files/<path>),
 * its listing, the selection in it, what happened last (a done line or an error), the file open
 * in the editor, and following a symlink.
 *
 * The listing: `entries` belong to `shownPath` (null before the first answer). An answer for a
 * folder left meanwhile is dropped. A failed load keeps the entries when it was the same folder
 * again (a refresh), else empties them. The first call on a stopped runtime starts its container
 * on the server (a second or two): that is `firstLoad`, a wait, not an error.
 */
import { SvelteSet } from 'svelte/reactivity';
import { api } from '../../lib/api/client';
import type { FileEntry, RuntimeState } from '../../lib/api/types';
import { joinPath } from '../../lib/files';
import { t, type MessageKey, type MessageParams } from '../../lib/i18n/index.svelte';
import { href, router } from '../../lib/router.svelte';

/** What happened last, kept as a key so that it follows a language switch. */
export interface Done {
  key: MessageKey;
  params?: MessageParams;
  tone?: 'success' | 'info';
}

export class FilesView {
  entries: FileEntry[] = $state([]);
  /** The folder `entries` belong to (null before the first answer). */
  shownPath: string | null = $state(null);
  loading = $state(true);
  loadError: unknown = $state(null);
  runtimeState: RuntimeState | null = $state(null);
  #loadSeq = 0;

  readonly selected = new SvelteSet<string>();
  selectedEntries = $derived(this.entries.filter((entry) => this.selected.has(entry.name)));
  allSelected = $derived(this.entries.length > 0 && this.selectedEntries.length === this.entries.length);

  done: Done | null = $state(null);
  actionError: unknown = $state(null);
  doneText = $derived(this.done ? t(this.done.key, this.done.params) : null);

  /** The path of the file open in the editor (it replaces the listing), or null. */
  editing: string | null = $state(null);
  /** A hidden link that downloads the file a symlink leads to. */
  downloader: HTMLAnchorElement | undefined;

  firstLoad = $derived(this.loading && this.shownPath !== this.folder);
  waitingForRuntime = $derived(this.runtimeState !== null && this.runtimeState !== 'running');

  get folder(): string {
    return router.path;
  }

  pathOf = (entry: FileEntry): string => joinPath(this.folder, entry.name);

  /** A new folder in the address: nothing selected, nothing said, its listing. */
  show(path: string): void {
    this.selected.clear();
    this.done = null;
    this.actionError = null;
    void this.load(path);
  }

  async load(path: string = this.folder): Promise<void> {
    const seq = ++this.#loadSeq;
    this.loading = true;
    try {
      const listing = await api.listFiles(path);
      if (seq !== this.#loadSeq) return;
      this.entries = listing.entries;
      this.shownPath = path;
      this.loadError = null;
      this.runtimeState = 'running';
    } catch (error) {
      if (seq !== this.#loadSeq) return;
      this.loadError = error;
      if (this.shownPath !== path) this.entries = [];
      this.shownPath = path;
    } finally {
      if (seq === this.#loadSeq) this.loading = false;
    }
  }

  /** Only to word the first wait: a stopped runtime is started by the listing call itself. */
  probeRuntime(): void {
    api.runtime().then(
      (runtime) => {
        if (this.loading && this.runtimeState === null) this.runtimeState = runtime.state;
      },
      () => undefined,
    );
  }

  toggleAll(): void {
    if (this.allSelected) this.selected.clear();
    else for (const entry of this.entries) this.selected.add(entry.name);
  }

  toggle(name: string): void {
    if (this.selected.has(name)) this.selected.delete(name);
    else this.selected.add(name);
  }

  closeEditor(changed: boolean): void {
    this.editing = null;
    if (changed) void this.load();
  }

  /** A symlink is followed on click, to a folder or a file, inside the workspace only (else the server's error). */
  async follow(entry: FileEntry): Promise<void> {
    this.actionError = null;
    try {
      const target = await api.statFile(this.pathOf(entry));
      if (target.type === 'folder') {
        location.hash = href('files', this.pathOf(entry));
      } else if (this.downloader) {
        this.downloader.href = api.fileDownloadUrl(this.pathOf(entry), `${target.modifiedAt}-${target.size}`);
        this.downloader.download = entry.name;
        this.downloader.click();
      }
    } catch (error) {
      this.actionError = error;
    }
  }
}
