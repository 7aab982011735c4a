import { adminPaymentRoutes, type RouteResponse } from '@carshare/contracts';
import { useCallback, useId, useMemo, useState, type FormEvent } from 'react';
import { isRouteMissing } from '../../api/console-session.ts';
import { useSession } from '../../api/session-context.tsx';
import { useI18n } from '../../i18n/i18n.tsx';
import { ApiMissing, ErrorNotice, FormFooter, StatusMessage } from '../../ui/error-notice.tsx';
import { PageStates, Pager } from '../../ui/pager.tsx';
import { useCursorPages } from '@carshare/web-client/use-cursor-pages';
import { formatMoney } from '../trips/trips-screen.tsx';

type FeeCharge = RouteResponse<typeof adminPaymentRoutes.retryFeeCharge>;
type FeeStatus = FeeCharge['status'];

const feeStatuses: readonly FeeStatus[] = ['failed', 'charging', 'charged', 'waived'];
const uuidPattern = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';

/**
 * Fees charged on their own (a reservation's extension fee no trip carried) that the card or the
 * processor refused: who, how much, why and how often tried, with the two ways out an operator
 * has: charge again (after the rider fixed their card) or waive it with a reason (kept on the fee).
 */
export function FeesScreen() {
  const session = useSession();
  const { t, formatDate, language } = useI18n();
  const [status, setStatus] = useState<FeeStatus>('failed');
  const [rider, setRider] = useState('');
  const [applied, setApplied] = useState({ status: 'failed' as FeeStatus, rider: '' });
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [actionError, setActionError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const [waiving, setWaiving] = useState<FeeCharge | undefined>(undefined);

  const load = useCallback(
    (cursor: string | undefined, signal: AbortSignal) =>
      session.call(adminPaymentRoutes.listFeeCharges, {
        query: { limit: 20, status: applied.status, ...(applied.rider ? { riderId: applied.rider } : {}), ...(cursor ? { cursor } : {}) },
        signal,
      }),
    [session, applied],
  );
  const pages = useCursorPages<FeeCharge>(useMemo(() => JSON.stringify(applied), [applied]), load);
  const money = (fee: FeeCharge) => formatMoney(fee.amountCents, fee.currency, language);

  async function retry(fee: FeeCharge) {
    setActionError(undefined);
    setNotice(undefined);
    setBusy(fee.id);
    try {
      // A key per retry the operator asks for: a repeat of this request is answered with its first
      // answer; a later click is a new attempt, which the payment service never lets charge twice.
      const after = await session.call(adminPaymentRoutes.retryFeeCharge, { params: { id: fee.id }, idempotencyKey: crypto.randomUUID() });
      setNotice(
        after.status === 'charged'
          ? t('fees.retried.charged', { amount: money(after) })
          : after.status === 'failed'
            ? t('fees.retried.failed', { reason: after.lastError ?? t('common.none') })
            : t('fees.retried.charging'),
      );
      pages.reload();
    } catch (error) {
      setActionError(error);
    } finally {
      setBusy(undefined);
    }
  }

  if (isRouteMissing(pages.error)) return <ApiMissing api={t('fees.api')} />;

  return (
    <section aria-labelledby="fees-heading">
      <h1 id="fees-heading">{t('fees.heading')}</h1>
      <p>{t('fees.intro')}</p>
      <form
        className="filters"
        onSubmit={(event) => {
          event.preventDefault();
          setApplied({ status, rider: rider.trim() });
        }}
      >
        <label>
          {t('fees.status')}
          <select value={status} onChange={(event) => setStatus(event.target.value as FeeStatus)}>
            {feeStatuses.map((value) => (
              <option key={value} value={value}>
                {t(`fees.status.${value}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('fees.rider')}
          <input value={rider} pattern={uuidPattern} title={t('fees.riderHint')} onChange={(event) => setRider(event.target.value)} />
        </label>
        <button type="submit">{t('common.apply')}</button>
      </form>
      <StatusMessage text={notice} />
      {actionError !== undefined && <ErrorNotice error={actionError} />}
      <PageStates pages={pages} empty={t('fees.empty')} />
      {pages.items.length > 0 && (
        <table className="data">
          <caption className="visually-hidden">{t('fees.heading')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('fees.col.fee')}</th>
              <th scope="col">{t('fees.col.rider')}</th>
              <th scope="col">{t('fees.col.amount')}</th>
              <th scope="col">{t('fees.col.reason')}</th>
              <th scope="col">{t('fees.col.attempts')}</th>
              <th scope="col">{t('fees.col.updated')}</th>
              <th scope="col">{t('common.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {pages.items.map((fee) => (
              <tr key={fee.id}>
                <th scope="row">
                  {fee.description}
                  <br />
                  <code>{fee.reference}</code>
                </th>
                <td>
                  <code>{fee.riderId}</code>
                </td>
                <td>{money(fee)}</td>
                <td>{fee.waiver ? t('fees.waivedBecause', { reason: fee.waiver.reason }) : (fee.lastError ?? t('common.none'))}</td>
                <td>{fee.attempts}</td>
                <td>{formatDate(fee.updatedAt)}</td>
                <td className="actions">
                  {(fee.status === 'failed' || fee.status === 'charging') && (
                    <button type="button" disabled={busy === fee.id} onClick={() => void retry(fee)} aria-label={`${t('fees.retry')} ${fee.description} ${money(fee)}`}>
                      {t('fees.retry')}
                    </button>
                  )}
                  {fee.status === 'failed' && (
                    <button type="button" disabled={busy === fee.id} onClick={() => setWaiving(fee)} aria-label={`${t('fees.waive')} ${fee.description} ${money(fee)}`}>
                      {t('fees.waive')}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager pages={pages} label={t('fees.heading')} />
      {waiving && (
        <WaiveForm
          fee={waiving}
          amount={money(waiving)}
          onRefused={pages.reload}
          onCancel={() => setWaiving(undefined)}
          onDone={(fee) => {
            setWaiving(undefined);
            setNotice(t('fees.waived', { amount: money(fee) }));
            pages.reload();
          }}
        />
      )}
    </section>
  );
}

function WaiveForm({ fee, amount, onRefused, onCancel, onDone }: { fee: FeeCharge; amount: string; onRefused: () => void; onCancel: () => void; onDone: (fee: FeeCharge) => void }) {
  const session = useSession();
  const { t } = useI18n();
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  // One key per waiver the operator means: a resubmission after a lost answer is the same waiver.
  const [idempotencyKey] = useState(() => crypto.randomUUID());
  const id = useId();

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onDone(await session.call(adminPaymentRoutes.waiveFeeCharge, { params: { id: fee.id }, body: { reason: reason.trim() }, idempotencyKey }));
    } catch (failure) {
      setError(failure);
      setBusy(false);
      // Charged or waived meanwhile by another operator: the list shows where the fee stands now.
      onRefused();
    }
  }

  return (
    <form className="panel" aria-labelledby={id} onSubmit={(event) => void submit(event)}>
      <h2 id={id}>
        {t('fees.waive')}: {fee.description}, {amount}
      </h2>
      <label>
        {t('fees.waiveReason')}
        <input required maxLength={500} pattern=".*\S.*" value={reason} onChange={(event) => setReason(event.target.value)} autoFocus />
      </label>
      <FormFooter error={error} busy={busy} submitLabel={t('fees.waive')} onCancel={onCancel} />
    </form>
  );
}
