/**
 * Small pure helpers of the files screen: workspace paths ("" is the workspace, names
 * joined by "/"), sizes and modes for people, which files the text editor may open, and
 * what the browser hands over when files or folders are dropped.
 */
import type { UploadItem } from './api/client';
import type { FileEntry } from './api/types';

export function joinPath(folder: string, name: string): string {
  return folder ? `${folder}/${name}` : name;
}

export function parentOf(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut < 0 ? '' : path.slice(0, cut);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The folders from the workspace down to `path`, each with its own path, for a breadcrumb. */
export function crumbs(path: string): { name: string; path: string }[] {
  if (!path) return [];
  const names = path.split('/');
  return names.map((name, i) => ({ name, path: names.slice(0, i + 1).join('/') }));
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 0 B, 999 B, 1.5 KiB, 12 MiB... in the reader's number format. */
export function formatBytes(bytes: number, locale: string): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(value)} ${UNITS[unit]}`;
}

/** `ls -l` style: drwxr-xr-x, with the set-id and sticky bits where they apply. */
export function modeString(entry: Pick<FileEntry, 'mode' | 'type'>): string {
  const bits = Number.parseInt(entry.mode, 8);
  if (!Number.isFinite(bits)) return entry.mode;
  const kind = entry.type === 'folder' ? 'd' : entry.type === 'symlink' ? 'l' : entry.type === 'other' ? '?' : '-';
  const triple = (shift: number, special: boolean, specialChar: string): string => {
    const r = bits & (4 << shift) ? 'r' : '-';
    const w = bits & (2 << shift) ? 'w' : '-';
    const x = bits & (1 << shift);
    const last = special ? (x ? specialChar : specialChar.toUpperCase()) : x ? 'x' : '-';
    return r + w + last;
  };
  return kind + triple(6, (bits & 0o4000) !== 0, 's') + triple(3, (bits & 0o2000) !== 0, 's') + triple(0, (bits & 0o1000) !== 0, 't');
}

/** Largest file the editor opens: a textarea gets slow well before the server's limit. */
export const EDITABLE_MAX_BYTES = 1024 * 1024;

const TEXT_EXTENSIONS = new Set(
  (
    'txt text md markdown rst adoc org log csv tsv json jsonl ndjson json5 yaml yml toml ini cfg conf config env properties ' +
    'xml html htm xhtml css scss sass less svg js mjs cjs jsx ts mts cts tsx vue svelte py pyi rb php pl pm lua r ' +
    'go rs java kt kts scala swift c h cc cpp cxx hpp hh cs m mm sh bash zsh fish ps1 bat cmd sql graphql gql ' +
    'proto tf hcl dockerfile makefile mk cmake gradle diff patch tex bib srt vtt lock gitignore gitattributes editorconfig'
  ).split(' '),
);
const TEXT_NAMES = new Set(['dockerfile', 'makefile', 'readme', 'license', 'licence', 'changelog', 'authors', 'notice', 'procfile', 'gemfile']);

/** Whether the editor should offer to open this file: small, and named like text. */
export function isEditable(entry: Pick<FileEntry, 'name' | 'size' | 'type'>): boolean {
  if (entry.type !== 'file' || entry.size >= EDITABLE_MAX_BYTES) return false;
  const lower = entry.name.toLowerCase();
  if (TEXT_NAMES.has(lower)) return true;
  const dot = lower.lastIndexOf('.');
  // ".bashrc", ".env": a dotfile without another dot is a settings file, i.e. text.
  if (dot === 0) return true;
  return dot > 0 && TEXT_EXTENSIONS.has(lower.slice(dot + 1));
}

/**
 * The text of a file's bytes, or null when it is not UTF-8 text (invalid UTF-8, or NUL
 * bytes): such a file would be damaged by saving it back from a textarea.
 */
export function decodeText(bytes: ArrayBuffer): string | null {
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
    return text.includes('\0') ? null : text;
  } catch {
    return null;
  }
}

export type IconKind = 'folder' | 'symlink' | 'other' | 'image' | 'archive' | 'code' | 'text' | 'audio' | 'video' | 'pdf' | 'file';

const ICON_BY_EXTENSION: Record<string, IconKind> = {};
const assign = (kind: IconKind, list: string): void => {
  for (const extension of list.split(' ')) ICON_BY_EXTENSION[extension] = kind;
};
assign('image', 'png jpg jpeg gif webp bmp ico tif tiff heic avif svg');
assign('archive', 'zip tar gz tgz bz2 xz zst 7z rar');
assign('code', 'js mjs cjs jsx ts mts cts tsx vue svelte py rb php go rs java kt c h cc cpp hpp cs sh bash ps1 sql html css scss json yaml yml toml xml');
assign('text', 'txt md markdown rst log csv tsv ini cfg conf env');
assign('audio', 'mp3 wav ogg flac m4a aac opus');
assign('video', 'mp4 webm mkv mov avi m4v');
assign('pdf', 'pdf');

export function iconKind(entry: Pick<FileEntry, 'name' | 'type'>): IconKind {
  if (entry.type !== 'file') return entry.type;
  const lower = entry.name.toLowerCase();
  const dot = lower.lastIndexOf('.');
  return (dot > 0 && ICON_BY_EXTENSION[lower.slice(dot + 1)]) || 'file';
}

/** Files with the path below the upload folder as their name (webkitRelativePath for folder picks). */
export function fromInput(files: FileList | null, withFolders: boolean): UploadItem[] {
  return Array.from(files ?? [], (file) => ({ file, name: (withFolders && file.webkitRelativePath) || file.name }));
}

/**
 * What was dropped: files, and folders walked to every file in them (their paths kept).
 * Browsers without the entries API get the plain files.
 */
export async function fromDrop(transfer: DataTransfer): Promise<UploadItem[]> {
  const entries = Array.from(transfer.items)
    .filter((item) => item.kind === 'file')
    .map((item) => item.webkitGetAsEntry?.() ?? null);
  if (entries.length === 0 || entries.some((entry) => entry === null)) return fromInput(transfer.files, false);
  const items: UploadItem[] = [];
  for (const entry of entries) if (entry) await walk(entry, '', items);
  return items;
}

async function walk(entry: FileSystemEntry, prefix: string, into: UploadItem[]): Promise<void> {
  const name = prefix + entry.name;
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    into.push({ file, name });
    return;
  }
  if (!entry.isDirectory) return;
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  // readEntries answers in batches (100 in Chromium) until it answers none.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const child of batch) await walk(child, `${name}/`, into);
  }
}
