import { tripRoutes, type RouteResponse } from '@carshare/contracts';
import { useEffect, useState } from 'react';
import { api } from '../../app/api.ts';
import { useI18n } from '../../i18n/i18n.tsx';
import { formatDateTime, formatMoney } from '../../i18n/money.ts';
import { ErrorNotice, Loading } from '../../ui/error-notice.tsx';
import { linkTo } from '../auth/auth-screens.tsx';

type TripRow = RouteResponse<typeof tripRoutes.list>['items'][number];

const pageSize = 10;

/** `/trips`: my trips newest first, a page at a time ("load more" follows the API's cursor). */
export function HistoryScreen() {
  const { t, format, language } = useI18n();
  const [trips, setTrips] = useState<TripRow[]>([]);
  const [cursor, setCursor] = useState<string | null | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>();
  const [request, setRequest] = useState<{ cursor: string | undefined; seq: number }>({ cursor: undefined, seq: 0 });

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    setError(undefined);
    api.call(tripRoutes.list, { query: { limit: pageSize, ...(request.cursor ? { cursor: request.cursor } : {}) }, signal: controller.signal }).then(
      (page) => {
        if (controller.signal.aborted) return;
        setTrips((earlier) => (request.cursor ? [...earlier, ...page.items] : page.items));
        setCursor(page.nextCursor);
        setLoading(false);
      },
      (failure: unknown) => {
        if (controller.signal.aborted) return;
        setError(failure);
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [request]);

  const firstLoad = cursor === undefined;
  return (
    <section aria-labelledby="history-title" className="card">
      <h1 id="history-title">{t.history.title}</h1>
      {!firstLoad && trips.length === 0 ? <p className="empty">{t.history.empty}</p> : null}
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
      {loading ? <Loading /> : null}
      {error ? <ErrorNotice error={error} onRetry={() => setRequest((earlier) => ({ ...earlier, seq: earlier.seq + 1 }))} /> : null}
      {!loading && cursor ? (
        <button type="button" className="button secondary" onClick={() => setRequest((earlier) => ({ cursor, seq: earlier.seq + 1 }))}>
          {t.history.loadMore}
        </button>
      ) : null}
      {!loading && !firstLoad && cursor === null && trips.length > 0 ? <p className="small">{t.history.noMore}</p> : null}
    </section>
  );
}
