import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { ApiError } from '@carshare/web-client';
import { errorMessagesDe, errorMessagesEn } from './error-messages.ts';
import { de, en, type StringKey } from './strings.ts';

export type Language = 'en' | 'de';
export const languages: readonly Language[] = ['en', 'de'];
const tables = { en: { strings: en as Record<StringKey, string>, errors: errorMessagesEn }, de: { strings: de, errors: errorMessagesDe } } as const;
const storageKey = 'carshare.admin.language';

export type Translate = (key: StringKey, values?: Record<string, string | number>) => string;

interface I18n {
  language: Language;
  setLanguage: (language: Language) => void;
  t: Translate;
  /** A sentence for any failure: the code's message in this language, else the platform's. */
  errorText: (error: unknown) => string;
  formatDate: (iso: string | null | undefined) => string;
}

const I18nContext = createContext<I18n | undefined>(undefined);

function initialLanguage(): Language {
  const stored = localStorage.getItem(storageKey);
  if (stored === 'en' || stored === 'de') return stored;
  return navigator.language.toLowerCase().startsWith('de') ? 'de' : 'en';
}

export function fill(template: string, values: Record<string, string | number> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}

export function I18nProvider({ children }: { children: ReactNode }) {
  const [language, setLanguageState] = useState<Language>(initialLanguage);
  const setLanguage = useCallback((next: Language) => {
    localStorage.setItem(storageKey, next);
    document.documentElement.lang = next;
    setLanguageState(next);
  }, []);
  const value = useMemo<I18n>(() => {
    const table = tables[language];
    const t: Translate = (key, values) => fill(table.strings[key], values);
    const dateFormat = new Intl.DateTimeFormat(language, { dateStyle: 'medium', timeStyle: 'short' });
    return {
      language,
      setLanguage,
      t,
      errorText: (error) => {
        if (error instanceof ApiError) {
          const known = table.errors[error.code];
          return known ?? `${error.message} (${error.code})`;
        }
        return error instanceof Error ? error.message : String(error);
      },
      formatDate: (iso) => {
        if (!iso) return table.strings['common.none'];
        return dateFormat.format(new Date(iso));
      },
    };
  }, [language, setLanguage]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const value = useContext(I18nContext);
  if (!value) throw new Error('useI18n outside I18nProvider');
  return value;
}
