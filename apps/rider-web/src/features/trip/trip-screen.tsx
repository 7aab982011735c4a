import { tripRoutes, type RouteResponse } from '@carshare/contracts';
import { isApiError, randomUuid } from '@carshare/web-client';
import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from '../../app/api.ts';
import { navigate } from '../../app/router.ts';
import { useLoad } from '../../app/use-api.ts';
import { useI18n } from '../../i18n/i18n.tsx';
import { formatMoney, formatTime } from '../../i18n/money.ts';
import { ErrorNotice, Loading } from '../../ui/error-notice.tsx';
import { linkTo } from '../auth/auth-screens.tsx';
import { formatDistance } from '../map/map-data.ts';
import { keyStillUsable } from './finish-key.ts';
import { directionToZone } from './nearest-zone.ts';
import { drivingMs, formatDuration } from './trip-time.ts';

type TripView = RouteResponse<typeof tripRoutes.get>;

/** How often a running trip is read again: the fee, distance and the saga's progress move on the server. */
const refreshMs = 3_000;

const endedStatuses = new Set(['finished', 'failed']);

/**
 * `/trip`: the trip in progress. The API has no "my current trip" read; the newest of my trips is
 * it when it has not ended (one active trip per rider), else there is none.
 */
export function CurrentTripScreen() {
  const { t } = useI18n();
  const [newest, reload] = useLoad((signal) => api.call(tripRoutes.list, { query: { limit: 1 }, signal }), 'current-trip');
  if (newest.state === 'loading') return <Loading />;
  if (newest.state === 'failed') return <ErrorNotice error={newest.error} onRetry={reload} />;
  const trip = newest.value.items[0];
  if (trip && !endedStatuses.has(trip.status)) return <TripScreen tripId={trip.id} />;
  return (
    <section aria-labelledby="trip-title" className="card">
      <h1 id="trip-title">{t.trip.title}</h1>
      <p className="empty">{t.trip.none}</p>
      <p>
        <a href="/trips" onClick={(event) => linkTo(event, '/trips')}>
          {t.trip.toHistory}
        </a>
      </p>
    </section>
  );
}

/** Reads a trip now and every few seconds until it ends; `refresh` reads at once. */
function useTrip(tripId: string): { trip: TripView | undefined; error: unknown; refresh: () => void; replace: (trip: TripView) => void } {
  const [trip, setTrip] = useState<TripView>();
  const [error, setError] = useState<unknown>();
  const [generation, setGeneration] = useState(0);
  const ended = trip ? endedStatuses.has(trip.status) : false;
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = () => {
      api.call(tripRoutes.get, { params: { id: tripId }, signal: controller.signal }).then(
        (answer) => {
          if (controller.signal.aborted) return;
          setTrip(answer);
          setError(undefined);
          if (!endedStatuses.has(answer.status)) timer = setTimeout(read, refreshMs);
        },
        (failure: unknown) => {
          if (controller.signal.aborted) return;
          setError(failure);
          // A blip (offline, a 5xx) is retried; a 4xx (not found, not mine) will not change.
          if (!isApiError(failure) || failure.status === 0 || failure.status >= 500) timer = setTimeout(read, refreshMs);
        },
      );
    };
    if (!ended) read();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
    // `ended` stops the loop once the trip is over; `generation` restarts it on demand.
  }, [tripId, generation, ended]);
  const refresh = useCallback(() => setGeneration((value) => value + 1), []);
  const replace = useCallback((next: TripView) => setTrip(next), []);
  return { trip, error, refresh, replace };
}

interface FinishRefusal {
  error: unknown;
  nearest?: { name: string; kind: string; feeCents: number; distanceM: number; zoneId: string } | undefined;
  position?: { lat: number; lng: number } | undefined;
}

export function TripScreen({ tripId }: { tripId: string }) {
  const { t, format, language } = useI18n();
  const { trip, error: readError, refresh, replace } = useTrip(tripId);
  const [actionError, setActionError] = useState<FinishRefusal>();
  const [busy, setBusy] = useState<'pause' | 'resume' | 'finish'>();
  // One key per finish attempt, kept while the server may have acted on it (see keyStillUsable).
  const finishKey = useRef(`finish-${tripId}-${randomUuid()}`);
  const now = useNow();

  if (!trip) return readError ? <ErrorNotice error={readError} onRetry={refresh} /> : <Loading />;

  async function act(kind: 'pause' | 'resume' | 'finish') {
    setBusy(kind);
    setActionError(undefined);
    try {
      const answer =
        kind === 'finish'
          ? await api.call(tripRoutes.finish, { params: { id: tripId }, idempotencyKey: finishKey.current, timeoutMs: 30_000 })
          : await api.call(kind === 'pause' ? tripRoutes.pause : tripRoutes.resume, { params: { id: tripId }, timeoutMs: 30_000 });
      replace({ ...answer, liveFee: null });
      if (kind === 'finish' && answer.status === 'finished') navigate(`/trips/${tripId}/receipt`);
      else refresh();
    } catch (failure) {
      if (kind === 'finish' && !keyStillUsable(failure)) finishKey.current = `finish-${tripId}-${randomUuid()}`;
      setActionError(refusalOf(failure));
      refresh();
    } finally {
      setBusy(undefined);
    }
  }

  const ended = endedStatuses.has(trip.status);
  const live = trip.liveFee;
  const distanceM = trip.distanceM ?? live?.distanceM ?? null;
  return (
    <section aria-labelledby="trip-title" className="card">
      <h1 id="trip-title">{t.trip.title}</h1>
      <p className={`status status-${trip.status}`} data-testid="trip-status">
        {t.trip.status[trip.status] ?? trip.status}
      </p>
      {trip.status === 'starting' ? <Loading label={t.trip.starting} /> : null}
      {trip.status === 'finishing' || busy === 'finish' ? <Loading label={t.trip.finishing} /> : null}
      {trip.status === 'failed' ? (
        <p className="notice notice-error" role="alert">
          {format(t.trip.failed, { reason: (trip.failureReason && t.errors.codes[trip.failureReason]) ?? trip.failureReason ?? '' })}
        </p>
      ) : null}
      {trip.status === 'paused' && trip.pausedSince ? (
        <p className="notice notice-info" role="status">
          {format(t.trip.parkedSince, { time: formatTime(trip.pausedSince, language) })}
        </p>
      ) : null}
      <dl className="facts">
        <dt>{t.trip.elapsed}</dt>
        <dd data-testid="trip-elapsed">{formatDuration(drivingMs(trip, now))}</dd>
        <dt>{t.trip.distance}</dt>
        <dd data-testid="trip-distance">{distanceM === null ? t.trip.distanceMissing : formatDistance(distanceM, language)}</dd>
        {trip.totalCents !== null && trip.currency ? (
          <>
            <dt>{t.trip.total}</dt>
            <dd data-testid="trip-total">{formatMoney(trip.totalCents, trip.currency, language)}</dd>
          </>
        ) : ended ? null : (
          <>
            <dt>{t.trip.fee}</dt>
            <dd data-testid="trip-fee">
              {live ? (
                <>
                  <span className="fee">{formatMoney(live.estimateCents, live.currency, language)}</span>
                  <span className="small">
                    {' '}
                    ({format(t.trip.feeDetail, { driving: live.drivingMinutes, parking: live.parkingMinutes })}
                    {live.packageApplied ? `; ${format(t.trip.packageApplied, { package: live.packageApplied })}` : ''}
                    {live.extensionFeeCents > 0 ? `; ${format(t.trip.extensionIncluded, { fee: formatMoney(live.extensionFeeCents, live.currency, language) })}` : ''}; {format(t.trip.asOf, { time: formatTime(live.asOf, language) })})
                  </span>
                </>
              ) : (
                t.trip.feeUnknown
              )}
            </dd>
          </>
        )}
      </dl>
      {readError ? <ErrorNotice error={readError} /> : null}
      {actionError ? <FinishProblem refusal={actionError} currency={live?.currency ?? trip.currency} /> : null}
      {trip.status === 'finished' ? (
        <>
          {trip.paymentStatus === 'pending' ? <p className="small">{t.trip.paymentPending}</p> : null}
          <p>
            <a className="button" href={`/trips/${tripId}/receipt`} onClick={(event) => linkTo(event, `/trips/${tripId}/receipt`)}>
              {t.trip.openReceipt}
            </a>
          </p>
        </>
      ) : null}
      {ended ? null : (
        <div className="actions">
          {trip.status === 'paused' ? (
            <button type="button" className="button secondary" disabled={busy !== undefined} onClick={() => void act('resume')}>
              {t.trip.resume}
            </button>
          ) : (
            <button type="button" className="button secondary" disabled={busy !== undefined || trip.status !== 'in_progress'} onClick={() => void act('pause')}>
              {t.trip.pause}
            </button>
          )}
          <button type="button" className="button" disabled={busy !== undefined || (trip.status !== 'in_progress' && trip.status !== 'paused')} onClick={() => void act('finish')}>
            {t.trip.finish}
          </button>
        </div>
      )}
    </section>
  );
}

function refusalOf(error: unknown): FinishRefusal {
  if (!isApiError(error) || (error.code !== 'OUTSIDE_OPERATING_AREA' && error.code !== 'NO_PARKING_ZONE')) return { error };
  const nearest = error.details['nearestZone'] as FinishRefusal['nearest'] | null | undefined;
  const position = error.details['position'] as FinishRefusal['position'] | undefined;
  return { error, nearest: nearest ?? undefined, position };
}

/** The API's refusal in words; outside a zone, where the nearest allowed one is (name, distance, direction, fee). */
function FinishProblem({ refusal, currency }: { refusal: FinishRefusal; currency: string | null }) {
  const { t, format, language } = useI18n();
  const [zones] = useLoad((signal) => (refusal.nearest ? api.call(tripRoutes.zones, { signal }) : Promise.resolve(undefined)), refusal.nearest?.zoneId ?? '');
  const outside = isApiError(refusal.error) && (refusal.error.code === 'OUTSIDE_OPERATING_AREA' || refusal.error.code === 'NO_PARKING_ZONE');
  const nearest = refusal.nearest;
  let direction = t.trip.directions['here'] ?? '';
  if (nearest && refusal.position && zones.state === 'loaded') {
    const zone = zones.value?.features.find((feature) => feature.id === nearest.zoneId);
    const compass = zone ? directionToZone(refusal.position, zone.geometry) : undefined;
    if (compass) direction = t.trip.directions[compass] ?? direction;
  }
  return (
    <div data-testid="finish-problem">
      <ErrorNotice error={refusal.error} />
      {outside ? (
        nearest ? (
          <p className="notice notice-info" role="status" data-testid="nearest-zone">
            {format(t.trip.nearestZone, { zone: nearest.name, distance: formatDistance(nearest.distanceM, language), direction })}
            {nearest.feeCents > 0 && currency ? ` ${format(t.trip.nearestZoneFee, { fee: formatMoney(nearest.feeCents, currency, language) })}` : ''}
          </p>
        ) : (
          <p className="notice notice-info">{t.trip.noZone}</p>
        )
      ) : null}
    </div>
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
