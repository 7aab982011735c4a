import { adminPaymentRoutes, tripRoutes, type RouteResponse } from '@carshare/contracts';
import { useCallback, useId, useMemo, useState, type FormEvent } from 'react';
import { useSession } from '../../api/session-context.tsx';
import { useI18n } from '../../i18n/i18n.tsx';
import type { StringKey } from '../../i18n/strings.ts';
import { ApiMissing, ErrorNotice, Loading, StatusMessage } from '../../ui/error-notice.tsx';
import { Pager } from '../../ui/pager.tsx';
import { useCursorPages } from '../../ui/use-cursor-pages.ts';

type Trip = RouteResponse<typeof tripRoutes.get>;
type Payment = RouteResponse<typeof adminPaymentRoutes.list>['items'][number];
type PaymentStatus = Payment['status'];
type RefundReason = NonNullable<RouteResponse<typeof adminPaymentRoutes.get>['refunds'][number]>['reason'];

const paymentStatuses: readonly PaymentStatus[] = ['authorized', 'capture_pending', 'captured', 'voided', 'partially_refunded', 'refunded'];
const refundReasons: readonly RefundReason[] = ['service_issue', 'car_issue', 'billing_error', 'goodwill', 'duplicate', 'other'];

export function formatMoney(cents: number, currency: string, language: string): string {
  return new Intl.NumberFormat(language, { style: 'currency', currency }).format(cents / 100);
}

/**
 * Trips and refunds. The platform has no operator trip listing with an event timeline yet (no
 * such route in contracts/src/http), so that part says the API is missing; a trip is opened by
 * id through the staff-readable trip route, and payments are refunded through the payment API.
 */
export function TripsScreen() {
  const { t } = useI18n();
  return (
    <section aria-labelledby="trips-heading">
      <h1 id="trips-heading">{t('trips.heading')}</h1>
      <ApiMissing api={t('trips.api')} />
      <TripLookup />
      <Payments />
    </section>
  );
}

function TripLookup() {
  const session = useSession();
  const { t, formatDate, language } = useI18n();
  const [id, setId] = useState('');
  const [trip, setTrip] = useState<Trip | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const headingId = useId();

  async function open(event: FormEvent) {
    event.preventDefault();
    setError(undefined);
    setTrip(undefined);
    try {
      setTrip(await session.call(tripRoutes.get, { params: { id: id.trim() } }));
    } catch (failure) {
      setError(failure);
    }
  }

  const facts: Array<[StringKey, string]> = trip
    ? [
        ['trips.status', trip.status],
        ['trips.rider', trip.riderId],
        ['trips.car', trip.carId],
        ['trips.created', formatDate(trip.createdAt)],
        ['trips.started', formatDate(trip.startedAt)],
        ['trips.finished', formatDate(trip.finishedAt)],
        ['trips.failure', trip.failureReason ?? t('common.none')],
        ['trips.total', trip.totalCents !== null && trip.currency ? formatMoney(trip.totalCents, trip.currency, language) : t('common.none')],
        ['trips.payment', `${trip.paymentId ?? t('common.none')} (${trip.paymentStatus ?? t('common.none')})`],
        ['trips.distance', trip.distanceM !== null ? `${(trip.distanceM / 1000).toFixed(2)} km` : t('common.none')],
      ]
    : [];

  return (
    <section aria-labelledby={headingId} className="panel">
      <h2 id={headingId}>{t('trips.lookup')}</h2>
      <form className="filters" onSubmit={(event) => void open(event)}>
        <label>
          {t('trips.lookupId')}
          <input required pattern="[0-9a-fA-F-]{36}" value={id} onChange={(event) => setId(event.target.value)} />
        </label>
        <button type="submit">{t('common.details')}</button>
      </form>
      {error !== undefined && <ErrorNotice error={error} />}
      {trip && (
        <dl className="facts">
          {facts.map(([label, value]) => (
            <div key={label}>
              <dt>{t(label)}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}

function Payments() {
  const session = useSession();
  const { t, formatDate, language } = useI18n();
  const [statusFilter, setStatusFilter] = useState<PaymentStatus | ''>('');
  const [refunding, setRefunding] = useState<Payment | undefined>(undefined);
  const [status, setStatus] = useState<string | undefined>(undefined);

  const load = useCallback(
    (cursor: string | undefined, signal: AbortSignal) =>
      session.call(adminPaymentRoutes.list, { query: { limit: 20, ...(statusFilter ? { status: statusFilter } : {}), ...(cursor ? { cursor } : {}) }, signal }),
    [session, statusFilter],
  );
  const pages = useCursorPages<Payment>(useMemo(() => statusFilter, [statusFilter]), load);

  return (
    <section aria-labelledby="payments-heading">
      <h2 id="payments-heading">{t('payments.heading')}</h2>
      <form className="filters" onSubmit={(event) => event.preventDefault()}>
        <label>
          {t('payments.col.status')}
          <select value={statusFilter} onChange={(event) => setStatusFilter(event.target.value as PaymentStatus | '')}>
            <option value="">{t('common.any')}</option>
            {paymentStatuses.map((value) => (
              <option key={value} value={value}>
                {value}
              </option>
            ))}
          </select>
        </label>
      </form>
      <StatusMessage text={status} />
      {refunding && (
        <RefundForm
          payment={refunding}
          onCancel={() => setRefunding(undefined)}
          onDone={(amount) => {
            setRefunding(undefined);
            setStatus(t('payments.refunded', { amount }));
            pages.reload();
          }}
        />
      )}
      {pages.error !== undefined && <ErrorNotice error={pages.error} onRetry={pages.reload} />}
      {pages.loading && <Loading />}
      {!pages.loading && pages.error === undefined && pages.items.length === 0 && <p className="empty">{t('payments.empty')}</p>}
      {pages.items.length > 0 && (
        <table className="data">
          <caption className="visually-hidden">{t('payments.heading')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('payments.col.id')}</th>
              <th scope="col">{t('payments.col.rider')}</th>
              <th scope="col">{t('payments.col.status')}</th>
              <th scope="col">{t('payments.col.amount')}</th>
              <th scope="col">{t('payments.col.refunded')}</th>
              <th scope="col">{t('payments.col.created')}</th>
              <th scope="col">{t('common.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {pages.items.map((payment) => (
              <tr key={payment.id}>
                <th scope="row">
                  <code>{payment.reference}</code>
                </th>
                <td>
                  <code>{payment.riderId}</code>
                </td>
                <td>{payment.status}</td>
                <td>{formatMoney(payment.capturedCents, payment.currency, language)}</td>
                <td>{formatMoney(payment.refundedCents, payment.currency, language)}</td>
                <td>{formatDate(payment.createdAt)}</td>
                <td className="actions">
                  <button type="button" disabled={payment.capturedCents - payment.refundedCents <= 0} onClick={() => setRefunding(payment)} aria-label={`${t('payments.refund')} ${payment.reference}`}>
                    {t('payments.refund')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager pages={pages} label={t('payments.heading')} />
    </section>
  );
}

function RefundForm({ payment, onCancel, onDone }: { payment: Payment; onCancel: () => void; onDone: (amount: string) => void }) {
  const session = useSession();
  const { t, language } = useI18n();
  const left = payment.capturedCents - payment.refundedCents;
  const [amount, setAmount] = useState(String(left));
  const [reason, setReason] = useState<RefundReason>('service_issue');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  // One key per refund the operator means: a resubmission after a lost answer is the same refund.
  const [idempotencyKey] = useState(() => crypto.randomUUID());
  const id = useId();

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const amountCents = Number(amount);
      await session.call(adminPaymentRoutes.refund, { params: { id: payment.id }, body: { amountCents, reason, ...(note.trim() ? { note: note.trim() } : {}) }, idempotencyKey });
      onDone(formatMoney(amountCents, payment.currency, language));
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  }

  return (
    <form className="panel" aria-labelledby={id} onSubmit={(event) => void submit(event)}>
      <h3 id={id}>
        {t('payments.refund')} <code>{payment.reference}</code>
      </h3>
      <label>
        {t('payments.refundAmount')}
        <input type="number" required min={1} max={left} value={amount} onChange={(event) => setAmount(event.target.value)} autoFocus />
      </label>
      <label>
        {t('payments.refundReason')}
        <select value={reason} onChange={(event) => setReason(event.target.value as RefundReason)}>
          {refundReasons.map((value) => (
            <option key={value} value={value}>
              {t(`payments.reason.${value}`)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t('payments.refundNote')}
        <input maxLength={500} value={note} onChange={(event) => setNote(event.target.value)} />
      </label>
      {error !== undefined && <ErrorNotice error={error} />}
      <div className="buttons">
        <button type="submit" disabled={busy}>
          {t('payments.refund')}
        </button>
        <button type="button" onClick={onCancel}>
          {t('common.cancel')}
        </button>
      </div>
    </form>
  );
}
