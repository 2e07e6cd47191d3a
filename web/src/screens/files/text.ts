/**
 * How the Files screen words things: the server's refusals it words its own way, sizes in the
 * reader's number format, one / other plurals, and a folder's name for people ("Workspace" for
 * the workspace itself). Every call reads the current language.
 */
import type { CodeOverrides } from '../../lib/api/errors';
import { formatBytes } from '../../lib/files';
import { getLocale, t, type MessageKey, type MessageParams } from '../../lib/i18n/index.svelte';

// A path refused before anything ran: the field problems say why ("must not contain ..").
export const overrides: CodeOverrides = { validation_failed: 'files.error.path', service_unavailable: 'files.error.unavailable' };

export const size = (bytes: number): string => formatBytes(bytes, getLocale());

export const plural = (n: number, one: MessageKey, other: MessageKey, params: MessageParams = {}): string =>
  t(n === 1 ? one : other, { n, ...params });

export const folderLabel = (folder: string): string => folder || t('files.root');
