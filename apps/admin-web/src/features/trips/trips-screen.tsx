import { adminPaymentRoutes, tripRoutes, type RouteResponse } from '@carshare/contracts';
import { useCallback, useEffect, useId, useMemo, useState, type FormEvent } from 'react';
import { isRouteMissing } from '../../api/console-session.ts';
import { useSession } from '../../api/session-context.tsx';
import { useI18n } from '../../i18n/i18n.tsx';
import type { StringKey } from '../../i18n/strings.ts';
import { ApiMissing, ErrorNotice, FormFooter, Loading, StatusMessage } from '../../ui/error-notice.tsx';
import { PageStates, Pager } from '../../ui/pager.tsx';
import { useCursorPages } from '@carshare/web-client/use-cursor-pages';

type Trip = RouteResponse<typeof tripRoutes.adminList>['items'][number];
type Payment = RouteResponse<typeof adminPaymentRoutes.list>['items'][number];
type PaymentStatus = Payment['status'];
type RefundReason = NonNullable<RouteResponse<typeof adminPaymentRoutes.get>['refunds'][number]>['reason'];

const paymentStatuses: readonly PaymentStatus[] = ['authorized', 'capture_pending', 'captured', 'voided', 'partially_refunded', 'refunded'];
const refundReasons: readonly RefundReason[] = ['service_issue', 'car_issue', 'billing_error', 'goodwill', 'duplicate', 'other'];

export function formatMoney(cents: number, currency: string, language: string): string {
  return new Intl.NumberFormat(language, { style: 'currency', currency }).format(cents / 100);
}

type TripStatus = Trip['status'];
type Timeline = RouteResponse<typeof tripRoutes.adminTimeline>;
const tripStatuses: readonly TripStatus[] = ['starting', 'in_progress', 'paused', 'finishing', 'finished', 'failed'];
const uuidPattern = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';

/**
 * Trips and refunds: every trip (server-side filters, cursor pages), one trip's event timeline
 * with its sagas step by step, and a refund of its payment through the payment API (the one
 * audited refund path). A platform without the trip routes says so instead of showing anything.
 */
export function TripsScreen() {
  const { t } = useI18n();
  return (
    <section aria-labelledby="trips-heading">
      <h1 id="trips-heading">{t('trips.heading')}</h1>
      <Trips />
      <Payments />
    </section>
  );
}

function Trips() {
  const session = useSession();
  const { t, formatDate, language } = useI18n();
  const [draft, setDraft] = useState({ riderId: '', carId: '' });
  const [filters, setFilters] = useState<{ status: TripStatus | ''; riderId: string; carId: string }>({ status: '', riderId: '', carId: '' });
  const [open, setOpen] = useState<string | undefined>(undefined);

  const load = useCallback(
    (cursor: string | undefined, signal: AbortSignal) =>
      session.call(tripRoutes.adminList, {
        query: {
          limit: 20,
          ...(cursor ? { cursor } : {}),
          ...(filters.status ? { status: filters.status } : {}),
          ...(filters.riderId ? { riderId: filters.riderId } : {}),
          ...(filters.carId ? { carId: filters.carId } : {}),
        },
        signal,
      }),
    [session, filters],
  );
  const pages = useCursorPages<Trip>(useMemo(() => JSON.stringify(filters), [filters]), load);

  if (isRouteMissing(pages.error)) return <ApiMissing api={t('trips.api')} />;
  return (
    <section aria-labelledby="trip-list-heading">
      <h2 id="trip-list-heading">{t('trips.list')}</h2>
      <form
        className="filters"
        onSubmit={(event) => {
          event.preventDefault();
          setFilters((current) => ({ ...current, riderId: draft.riderId.trim(), carId: draft.carId.trim() }));
        }}
      >
        <label>
          {t('trips.status')}
          <select value={filters.status} onChange={(event) => setFilters((current) => ({ ...current, status: event.target.value as TripStatus | '' }))}>
            <option value="">{t('common.any')}</option>
            {tripStatuses.map((status) => (
              <option key={status} value={status}>
                {t(`trips.state.${status}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('trips.rider')}
          <input pattern={uuidPattern} value={draft.riderId} onChange={(event) => setDraft((current) => ({ ...current, riderId: event.target.value }))} />
        </label>
        <label>
          {t('trips.car')}
          <input pattern={uuidPattern} value={draft.carId} onChange={(event) => setDraft((current) => ({ ...current, carId: event.target.value }))} />
        </label>
        <button type="submit">{t('common.apply')}</button>
      </form>
      <PageStates pages={pages} empty={t('trips.empty')} />
      {pages.items.length > 0 && (
        <table className="data">
          <caption className="visually-hidden">{t('trips.list')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('trips.created')}</th>
              <th scope="col">{t('trips.status')}</th>
              <th scope="col">{t('trips.rider')}</th>
              <th scope="col">{t('trips.car')}</th>
              <th scope="col">{t('trips.total')}</th>
              <th scope="col">{t('common.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {pages.items.map((trip) => (
              <tr key={trip.id} data-trip-id={trip.id}>
                <th scope="row">{formatDate(trip.createdAt)}</th>
                <td>{t(`trips.state.${trip.status}`)}</td>
                <td>
                  <code>{trip.riderId}</code>
                </td>
                <td>
                  <code>{trip.carId}</code>
                </td>
                <td>{trip.totalCents !== null && trip.currency ? formatMoney(trip.totalCents, trip.currency, language) : t('common.none')}</td>
                <td className="actions">
                  <button type="button" onClick={() => setOpen(trip.id)} aria-label={`${t('trips.timeline')} ${formatDate(trip.createdAt)}`}>
                    {t('trips.timeline')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager pages={pages} label={t('trips.list')} />
      {open && <TripTimeline key={open} tripId={open} onClose={() => setOpen(undefined)} />}
    </section>
  );
}

function TripTimeline({ tripId, onClose }: { tripId: string; onClose: () => void }) {
  const session = useSession();
  const { t, formatDate, language } = useI18n();
  const [timeline, setTimeline] = useState<Timeline | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [payment, setPayment] = useState<Payment | undefined>(undefined);
  const [refunding, setRefunding] = useState(false);
  const [status, setStatus] = useState<string | undefined>(undefined);
  const [attempt, setAttempt] = useState(0);
  const headingId = useId();

  useEffect(() => {
    const controller = new AbortController();
    setError(undefined);
    (async () => {
      const answer = await session.call(tripRoutes.adminTimeline, { params: { id: tripId }, signal: controller.signal });
      if (controller.signal.aborted) return;
      setTimeline(answer);
      if (answer.trip.paymentId) {
        const found = await session.call(adminPaymentRoutes.get, { params: { id: answer.trip.paymentId }, signal: controller.signal });
        if (!controller.signal.aborted) setPayment(found.payment);
      }
    })().catch((failure: unknown) => !controller.signal.aborted && setError(failure));
    return () => controller.abort();
  }, [session, tripId, attempt]);

  const trip = timeline?.trip;
  const facts: Array<[StringKey, string]> = trip
    ? [
        ['trips.status', t(`trips.state.${trip.status}`)],
        ['trips.rider', trip.riderId],
        ['trips.car', trip.carId],
        ['trips.created', formatDate(trip.createdAt)],
        ['trips.started', formatDate(trip.startedAt)],
        ['trips.finished', formatDate(trip.finishedAt)],
        ['trips.failure', trip.failureReason ?? t('common.none')],
        ['trips.total', trip.totalCents !== null && trip.currency ? formatMoney(trip.totalCents, trip.currency, language) : t('common.none')],
        ['trips.payment', payment ? `${payment.reference} (${payment.status})` : (trip.paymentId ?? t('common.none'))],
        ['trips.distance', trip.distanceM !== null ? `${(trip.distanceM / 1000).toFixed(2)} km` : t('common.none')],
      ]
    : [];

  return (
    <section className="panel" aria-labelledby={headingId}>
      <h2 id={headingId}>{t('trips.timelineOf', { id: tripId })}</h2>
      {error !== undefined && <ErrorNotice error={error} onRetry={() => setAttempt((value) => value + 1)} />}
      {!timeline && error === undefined && <Loading />}
      <StatusMessage text={status} />
      {timeline && (
        <>
          <dl className="facts">
            {facts.map(([label, value]) => (
              <div key={label}>
                <dt>{t(label)}</dt>
                <dd>{value}</dd>
              </div>
            ))}
          </dl>
          <h3>{t('trips.events')}</h3>
          <ol className="timeline">
            {timeline.events.map((event) => (
              <li key={event.seq}>
                <strong>{event.type}</strong> · {formatDate(event.at)}
                {Object.keys(event.data).length > 0 && <code className="event-data">{JSON.stringify(event.data)}</code>}
              </li>
            ))}
          </ol>
          {timeline.sagas.map((saga) => (
            <div key={saga.id}>
              <h3>
                {t('trips.saga', { name: saga.name, status: saga.status })}
              </h3>
              <table className="data">
                <caption className="visually-hidden">{saga.name}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('trips.step')}</th>
                    <th scope="col">{t('trips.invoke')}</th>
                    <th scope="col">{t('trips.compensate')}</th>
                  </tr>
                </thead>
                <tbody>
                  {saga.steps.map((step) => (
                    <tr key={step.name}>
                      <th scope="row">{step.name}</th>
                      <td>
                        {step.invokeStatus} ({step.invokeAttempts}) {formatDate(step.invokedAt)}
                        {step.invokeError && ` — ${step.invokeError.reason}: ${step.invokeError.message}`}
                      </td>
                      <td>
                        {step.compensateStatus} {step.compensatedAt ? formatDate(step.compensatedAt) : ''}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ))}
          <div className="buttons">
            {payment && payment.capturedCents - payment.refundedCents > 0 && (
              <button type="button" onClick={() => setRefunding(true)}>
                {t('payments.refund')}
              </button>
            )}
            <button type="button" onClick={onClose}>
              {t('common.close')}
            </button>
          </div>
          {refunding && payment && (
            <RefundForm
              payment={payment}
              onCancel={() => setRefunding(false)}
              onDone={(amount) => {
                setRefunding(false);
                setStatus(t('payments.refunded', { amount }));
                setAttempt((value) => value + 1);
              }}
            />
          )}
        </>
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
      <PageStates pages={pages} empty={t('payments.empty')} />
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
      <FormFooter error={error} busy={busy} submitLabel={t('payments.refund')} onCancel={onCancel} />
    </form>
  );
}
