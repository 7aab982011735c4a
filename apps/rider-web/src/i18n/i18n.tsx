import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { errorMessage } from './error-message.ts';
import { format } from './format.ts';
import { languages, type Language, type Messages } from './messages.ts';

interface I18n {
  language: Language;
  t: Messages;
  format: typeof format;
  errorText: (error: unknown) => string;
  setLanguage: (language: Language) => void;
}

const storageKey = 'carshare.rider.language';
const I18nContext = createContext<I18n | undefined>(undefined);

function initialLanguage(): Language {
  const saved = localStorage.getItem(storageKey);
  if (saved && saved in languages) return saved as Language;
  const preferred = navigator.language.slice(0, 2);
  return preferred in languages ? (preferred as Language) : 'en';
}

export function I18nProvider({ children }: { children: ReactNode }) {
  const [language, setLanguageState] = useState<Language>(initialLanguage);
  const setLanguage = useCallback((next: Language) => {
    localStorage.setItem(storageKey, next);
    document.documentElement.lang = next;
    setLanguageState(next);
  }, []);
  const value = useMemo<I18n>(() => {
    const t = languages[language];
    document.documentElement.lang = language;
    return { language, t, format, errorText: (error) => errorMessage(t, error), setLanguage };
  }, [language, setLanguage]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const value = useContext(I18nContext);
  if (!value) throw new Error('useI18n outside I18nProvider');
  return value;
}
