import { useI18n } from '../i18n/i18n.tsx';
import { ErrorNotice, Loading } from './error-notice.tsx';
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

/**
 * What a list shows around its rows: the failure with a retry, that a page is on its way, or the
 * sentence for an empty list (only once a page has answered without error). `itemCount` when the
 * rows shown are fewer than the page's (a queue that hides what was just decided).
 */
export function PageStates({ pages, empty, itemCount = pages.items.length }: { pages: CursorPages<unknown>; empty: string; itemCount?: number }) {
  return (
    <>
      {pages.error !== undefined && <ErrorNotice error={pages.error} onRetry={pages.reload} />}
      {pages.loading && <Loading />}
      {!pages.loading && pages.error === undefined && itemCount === 0 && <p className="empty">{empty}</p>}
    </>
  );
}
