import { carRoutes, meRoutes, tripRoutes, type RouteResponse } from '@carshare/contracts';
import { useEffect, useState } from 'react';
import { api } from '../../app/api.ts';
import { navigate } from '../../app/router.ts';
import { useLoad } from '../../app/use-api.ts';
import { useI18n } from '../../i18n/i18n.tsx';
import { formatMoney } from '../../i18n/money.ts';
import { PaymentNeededLink } from '../payment/payment-link.tsx';
import { ErrorNotice, Loading } from '../../ui/error-notice.tsx';
import { linkTo } from '../auth/auth-screens.tsx';
import { PricePreview } from './price-preview.tsx';
import { clearReservation, loadReservation, saveReservation, type ReservationView } from './reservation-store.ts';

type CarView = RouteResponse<typeof carRoutes.get>;

export function CarScreen({ carId }: { carId: string }) {
  const { t, format, language } = useI18n();
  const [car, reload] = useLoad((signal) => api.call(carRoutes.get, { params: { id: carId }, signal }), carId);
  const [reservation, setReservation] = useState<ReservationView | undefined>(() => loadReservation(carId));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  // The server's word on my hold (`/v1/me`), over what this device remembers: a hold made on
  // another device shows here, one that ended elsewhere goes. A part that could not be read
  // (`partial`) changes nothing.
  useEffect(() => {
    const controller = new AbortController();
    api.call(meRoutes.me, { signal: controller.signal }).then(
      (me) => {
        if (controller.signal.aborted || me.partial.includes('reservation')) return;
        const held = me.reservation?.carId === carId && me.reservation.status === 'active' ? me.reservation : undefined;
        if (held) saveReservation(held);
        else if (loadReservation(carId)) clearReservation();
        setReservation(held);
      },
      () => undefined,
    );
    return () => controller.abort();
  }, [carId]);
  // One key per unlock attempt: pressing again after a network error repeats the same start.
  const [startKey] = useState(() => crypto.getRandomValues(new Uint32Array(4)).join('-'));

  async function act(action: () => Promise<void>) {
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  const reserve = () =>
    act(async () => {
      const made = await api.call(tripRoutes.reserve, { body: { carId } });
      saveReservation(made);
      setReservation(made);
    });
  const cancel = () =>
    act(async () => {
      if (!reservation) return;
      await api.call(tripRoutes.cancelReservation, { params: { id: reservation.id } });
      clearReservation();
      setReservation(undefined);
    });
  const extend = () =>
    act(async () => {
      if (!reservation) return;
      const extended = await api.call(tripRoutes.extendReservation, { params: { id: reservation.id } });
      saveReservation(extended);
      setReservation(extended);
    });
  const unlock = () =>
    act(async () => {
      const trip = await api.call(tripRoutes.start, { body: reservation ? { reservationId: reservation.id } : { carId }, idempotencyKey: `start-${carId}-${startKey}` });
      clearReservation();
      navigate(`/trips/${trip.id}`);
    });

  return (
    <section aria-labelledby="car-title" className="card">
      <p>
        <a href="/" onClick={(event) => linkTo(event, '/')}>
          ← {t.common.back}
        </a>
      </p>
      {car.state === 'loading' ? <Loading /> : null}
      {car.state === 'failed' ? <ErrorNotice error={car.error} onRetry={reload} /> : null}
      {car.state === 'loaded' ? (
        <>
          <h1 id="car-title">{car.value.model}</h1>
          <CarFacts car={car.value} />
          <h2>{t.car.price}</h2>
          <PricePreview carId={carId} />
          {reservation ? <Countdown until={reservation.expiresAt} onEnd={() => (clearReservation(), setReservation(undefined))} /> : null}
          {reservation?.extension ? (
            <p className="small" data-testid="reservation-extension">
              {format(t.car.extended, {
                minutes: reservation.extension.minutes,
                fee: formatMoney(reservation.extension.feeCents, reservation.extension.currency, language),
              })}
            </p>
          ) : null}
          {error ? <ErrorNotice error={error} /> : null}
          <PaymentNeededLink error={error} />
          {isCode(error, 'PROFILE_NOT_VERIFIED') ? (
            <p>
              <a href="/licence" onClick={(event) => linkTo(event, '/licence')}>
                {t.car.needsLicence}
              </a>
            </p>
          ) : null}
          <div className="actions">
            {reservation ? (
              <>
                <button type="button" className="button secondary" disabled={busy} onClick={() => void cancel()}>
                  {t.car.cancel}
                </button>
                {reservation.extension ? null : (
                  <button type="button" className="button secondary" disabled={busy} onClick={() => void extend()}>
                    {t.car.extend}
                  </button>
                )}
              </>
            ) : (
              <button type="button" className="button secondary" disabled={busy || !car.value.available} onClick={() => void reserve()}>
                {t.car.reserve}
              </button>
            )}
            <button type="button" className="button" disabled={busy || (!reservation && !car.value.available)} onClick={() => void unlock()}>
              {t.car.unlock}
            </button>
          </div>
        </>
      ) : null}
    </section>
  );
}

function isCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

function CarFacts({ car }: { car: CarView }) {
  const { t } = useI18n();
  const facts = t.car.facts;
  return (
    <dl className="facts">
      <dt>{facts.plate}</dt>
      <dd>{car.plate}</dd>
      <dt>{facts.category}</dt>
      <dd>{t.car.category[car.category] ?? car.category}</dd>
      <dt>{facts.fuel}</dt>
      <dd>{t.car.fuel[car.fuelType] ?? car.fuelType}</dd>
      <dt>{facts.energy}</dt>
      <dd>{Math.round(car.energyPct)}%</dd>
      <dt>{facts.seats}</dt>
      <dd>{car.seats}</dd>
      <dt>{facts.available}</dt>
      <dd>{car.available ? facts.yes : facts.no}</dd>
    </dl>
  );
}

/** Time left on the hold, from the server's expiresAt; the rider's clock may be off by a little. */
function Countdown({ until, onEnd }: { until: string; onEnd: () => void }) {
  const { t, format } = useI18n();
  const end = Date.parse(until);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const left = Math.max(0, Math.round((end - now) / 1000));
  useEffect(() => {
    if (left === 0) onEnd();
  }, [left, onEnd]);
  const time = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`;
  return (
    <p className="countdown" role="timer" aria-live="off">
      {left > 0 ? format(t.car.reservedUntil, { time }) : t.car.reservationEnded}
    </p>
  );
}
