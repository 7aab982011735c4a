import { tripRoutes, type RouteResponse } from '@carshare/contracts';
import { useCursorPages } from '@carshare/web-client/use-cursor-pages';
import { api } from '../../app/api.ts';
import { useI18n } from '../../i18n/i18n.tsx';
import { formatDateTime, formatMoney } from '../../i18n/money.ts';
import { ErrorNotice, Loading } from '../../ui/error-notice.tsx';
import { linkTo } from '../auth/auth-screens.tsx';

type TripRow = RouteResponse<typeof tripRoutes.list>['items'][number];

const pageSize = 10;

function loadTrips(cursor: string | undefined, signal: AbortSignal) {
  return api.call(tripRoutes.list, { query: { limit: pageSize, ...(cursor ? { cursor } : {}) }, signal });
}

/** `/trips`: my trips newest first, a page at a time ("load more" follows the API's cursor). */
export function HistoryScreen() {
  const { t, format, language } = useI18n();
  const pages = useCursorPages<TripRow>('', loadTrips, { accumulate: true });
  const trips = pages.items;

  return (
    <section aria-labelledby="history-title" className="card">
      <h1 id="history-title">{t.history.title}</h1>
      {pages.loaded && trips.length === 0 ? <p className="empty">{t.history.empty}</p> : null}
      {trips.length > 0 ? (
        <ul className="car-list" aria-label={t.history.title} data-testid="trip-history">
          {trips.map((trip) => {
            const target = trip.status === 'finished' ? `/trips/${trip.id}/receipt` : `/trips/${trip.id}`;
            return (
              <li key={trip.id}>
                <a href={target} onClick={(event) => linkTo(event, target)} className="car-link">
                  <span className="car-model">{format(t.history.item, { date: formatDateTime(trip.startedAt ?? trip.createdAt, language), status: t.trip.status[trip.status] ?? trip.status })}</span>
                  <span className="car-meta">
                    {trip.totalCents !== null && trip.currency ? formatMoney(trip.totalCents, trip.currency, language) : ''}
                    {trip.status === 'failed' && trip.failureReason ? (t.errors.codes[trip.failureReason] ?? trip.failureReason) : ''}
                  </span>
                </a>
              </li>
            );
          })}
        </ul>
      ) : null}
      {pages.loading ? <Loading /> : null}
      {pages.error ? <ErrorNotice error={pages.error} onRetry={pages.reload} /> : null}
      {pages.hasNext ? (
        <button type="button" className="button secondary" onClick={pages.next}>
          {t.history.loadMore}
        </button>
      ) : null}
      {pages.loaded && !pages.loading && !pages.hasNext && trips.length > 0 ? <p className="small">{t.history.noMore}</p> : null}
    </section>
  );
}
