/**
 * The current language and the `t()` lookup. The choice is read from localStorage,
 * else from navigator.language (zh* -> zh-CN, everything else -> en), and mirrored
 * on <html lang>. `t()` reads reactive state, so any template or $derived that calls
 * it re-renders when the language changes.
 */
import { en, type MessageKey, type Messages } from './en';
import { zhCN } from './zh-CN';

export type { MessageKey } from './en';
export type Locale = 'en' | 'zh-CN';
export type MessageParams = Record<string, string | number>;

/** Each language names itself, so a reader can find their own whatever is selected. */
export const locales: readonly { id: Locale; label: string }[] = [
  { id: 'en', label: 'English' },
  { id: 'zh-CN', label: '中文' },
];

const dictionaries: Record<Locale, Messages> = { en, 'zh-CN': zhCN };
const STORAGE_KEY = 'crewclaw.locale';

function isLocale(value: unknown): value is Locale {
  return value === 'en' || value === 'zh-CN';
}

function detectLocale(): Locale {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (isLocale(stored)) return stored;
  } catch {
    // Storage can be blocked (privacy settings); fall through to the browser language.
  }
  const preferred = navigator.languages.length > 0 ? navigator.languages : [navigator.language];
  for (const tag of preferred) {
    const lower = tag.toLowerCase();
    if (lower.startsWith('zh')) return 'zh-CN';
    if (lower.startsWith('en')) return 'en';
  }
  return 'en';
}

const state = $state<{ locale: Locale }>({ locale: detectLocale() });
document.documentElement.lang = state.locale;

export function getLocale(): Locale {
  return state.locale;
}

export function setLocale(locale: Locale): void {
  state.locale = locale;
  document.documentElement.lang = locale;
  try {
    localStorage.setItem(STORAGE_KEY, locale);
  } catch {
    // Not persisted, but the switch still applies to this page.
  }
}

export function t(key: MessageKey, params?: MessageParams): string {
  const text = dictionaries[state.locale][key];
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (match, name: string) => (name in params ? String(params[name]) : match));
}

/** A date and time in the reader's language, or "Never" for a missing timestamp. */
export function formatDateTime(iso: string | null): string {
  if (!iso) return t('common.never');
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(state.locale, { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}
