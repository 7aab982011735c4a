import { useI18n } from '../i18n/i18n.tsx';
import type { CursorPages } from '@carshare/web-client/use-cursor-pages';

export function Pager({ pages, label }: { pages: CursorPages<unknown>; label: string }) {
  const { t } = useI18n();
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" onClick={pages.previous} disabled={!pages.hasPrevious}>
        {t('common.previous')}
      </button>
      <span aria-live="polite">{t('common.page', { page: pages.pageNumber })}</span>
      <button type="button" onClick={pages.next} disabled={!pages.hasNext}>
        {t('common.next')}
      </button>
    </nav>
  );
}
