import { tripRoutes, type HttpRouteContract, type RouteResponse } from '@carshare/contracts';
import { useEffect, useState } from 'react';
import { api } from '../../app/api.ts';
import { useLoad } from '../../app/use-api.ts';
import { useI18n } from '../../i18n/i18n.tsx';
import { ErrorNotice, Loading, NotOffered } from '../../ui/error-notice.tsx';
import { drivingMs, formatDuration } from './trip-time.ts';

type Trip = RouteResponse<typeof tripRoutes.get>;

/**
 * Controls the API may not have yet (issue 15 grows with the trip service): looked up in the
 * contract at run time, so a screen never offers a button the API cannot answer.
 */
const optionalRoutes = tripRoutes as unknown as Partial<Record<'pause' | 'resume' | 'finish', HttpRouteContract>>;
const refreshMs = 5_000;
const lastTripKey = 'carshare.rider.lastTrip';

export function rememberTrip(id: string): void {
  localStorage.setItem(lastTripKey, id);
}

export function lastTripId(): string | undefined {
  return localStorage.getItem(lastTripKey) ?? undefined;
}

export function TripScreen({ tripId }: { tripId: string | undefined }) {
  const { t, format } = useI18n();
  if (!tripId) {
    return (
      <section aria-labelledby="trip-title" className="card">
        <h1 id="trip-title">{t.trip.title}</h1>
        <p className="empty">{t.trip.none}</p>
        <NotOffered text={format(t.common.notOffered, { feature: t.trip.history })} />
      </section>
    );
  }
  return <TripDetails tripId={tripId} />;
}

function TripDetails({ tripId }: { tripId: string }) {
  const { t, format, language } = useI18n();
  const [generation, setGeneration] = useState(0);
  const [loaded, reload] = useLoad((signal) => api.call(tripRoutes.get, { params: { id: tripId }, signal }), `${tripId}:${generation}`);
  const [trip, setTrip] = useState<Trip>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const now = useNow();

  useEffect(() => rememberTrip(tripId), [tripId]);
  useEffect(() => {
    if (loaded.state === 'loaded') setTrip(loaded.value);
  }, [loaded]);
  const ended = trip?.status === 'finished' || trip?.status === 'failed';
  // The server's state moves on its own (the saga unlocks, the car reports): ask again while it runs.
  useEffect(() => {
    if (ended) return;
    const timer = setInterval(() => setGeneration((value) => value + 1), refreshMs);
    return () => clearInterval(timer);
  }, [ended]);

  if (!trip) return loaded.state === 'failed' ? <ErrorNotice error={loaded.error} onRetry={reload} /> : <Loading />;

  async function control(route: HttpRouteContract | undefined) {
    if (!route) return;
    setBusy(true);
    setError(undefined);
    try {
      await api.call(route, { params: { id: tripId } } as never);
      setGeneration((value) => value + 1);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  const money = (cents: number, currency: string) => new Intl.NumberFormat(language, { style: 'currency', currency }).format(cents / 100);
  const controlsOffered = optionalRoutes.pause && optionalRoutes.resume && optionalRoutes.finish;
  return (
    <section aria-labelledby="trip-title" className="card">
      <h1 id="trip-title">{t.trip.title}</h1>
      <p className={`status status-${trip.status}`} data-testid="trip-status">
        {t.trip.status[trip.status] ?? trip.status}
      </p>
      {trip.status === 'starting' ? <Loading label={t.trip.starting} /> : null}
      {trip.status === 'failed' ? (
        <p className="notice notice-error" role="alert">
          {format(t.trip.failed, { reason: (trip.failureReason && t.errors.codes[trip.failureReason]) ?? trip.failureReason ?? '' })}
        </p>
      ) : null}
      <dl className="facts">
        <dt>{t.trip.elapsed}</dt>
        <dd data-testid="trip-elapsed">{formatDuration(drivingMs(trip, now))}</dd>
        <dt>{t.trip.distance}</dt>
        <dd>{trip.distanceM === null ? t.trip.distanceMissing : `${(trip.distanceM / 1000).toFixed(2)} km`}</dd>
        <dt>{trip.totalCents === null ? t.trip.fee : t.trip.total}</dt>
        <dd>{trip.totalCents !== null && trip.currency ? money(trip.totalCents, trip.currency) : t.trip.feeMissing}</dd>
      </dl>
      {error ? <ErrorNotice error={error} /> : null}
      {ended ? null : controlsOffered ? (
        <div className="actions">
          {trip.status === 'paused' ? (
            <button type="button" className="button secondary" disabled={busy} onClick={() => void control(optionalRoutes.resume)}>
              {t.trip.resume}
            </button>
          ) : (
            <button type="button" className="button secondary" disabled={busy || trip.status !== 'in_progress'} onClick={() => void control(optionalRoutes.pause)}>
              {t.trip.pause}
            </button>
          )}
          <button type="button" className="button" disabled={busy} onClick={() => void control(optionalRoutes.finish)}>
            {t.trip.finish}
          </button>
        </div>
      ) : (
        <NotOffered text={t.trip.controlsMissing} />
      )}
    </section>
  );
}

function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return now;
}
