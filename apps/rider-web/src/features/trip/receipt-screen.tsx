import { tripRoutes, type RouteResponse } from '@carshare/contracts';
import { useEffect, useState } from 'react';
import { api } from '../../app/api.ts';
import { useLoad } from '../../app/use-api.ts';
import { useI18n } from '../../i18n/i18n.tsx';
import { formatDateTime, formatMoney } from '../../i18n/money.ts';
import { ErrorNotice, Loading } from '../../ui/error-notice.tsx';
import { linkTo } from '../auth/auth-screens.tsx';
import { formatDistance } from '../map/map-data.ts';

type Receipt = RouteResponse<typeof tripRoutes.receipt>;
type Line = Receipt['meteredLines'][number];

/** `/trips/:id/receipt`: every line of a finished trip's receipt, as the API prices it, and its PDF. */
export function ReceiptScreen({ tripId }: { tripId: string }) {
  const { t } = useI18n();
  const [receipt, reload] = useLoad((signal) => api.call(tripRoutes.receipt, { params: { id: tripId }, signal }), tripId);
  return (
    <section aria-labelledby="receipt-title" className="card receipt">
      <p>
        <a href="/trips" onClick={(event) => linkTo(event, '/trips')}>
          ← {t.nav.history}
        </a>
      </p>
      <h1 id="receipt-title">{t.receipt.title}</h1>
      {receipt.state === 'loading' ? <Loading label={t.receipt.loading} /> : null}
      {receipt.state === 'failed' ? <ErrorNotice error={receipt.error} onRetry={reload} /> : null}
      {receipt.state === 'loaded' ? <ReceiptBody receipt={receipt.value} /> : null}
    </section>
  );
}

function ReceiptBody({ receipt }: { receipt: Receipt }) {
  const { t, format, language } = useI18n();
  const money = (cents: number) => formatMoney(cents, receipt.currency, language);
  const packageApplied = receipt.packageApplied;
  return (
    <>
      <p>{format(t.receipt.trip, { start: formatDateTime(receipt.startedAt, language), end: formatDateTime(receipt.finishedAt, language) })}</p>
      <p>
        {format(t.receipt.endZone, { zone: receipt.endZone.name })} · {formatDistance(receipt.distanceM, language)}
      </p>
      <table className="receipt-lines" data-testid="receipt-lines">
        <caption className="visually-hidden">{t.receipt.metered}</caption>
        <thead>
          <tr>
            <th scope="col">{t.receipt.item}</th>
            <th scope="col">{t.receipt.quantity}</th>
            <th scope="col">{t.receipt.unitPrice}</th>
            <th scope="col" className="amount">
              {t.receipt.amount}
            </th>
          </tr>
        </thead>
        <tbody>
          {receipt.meteredLines.map((line) => (
            <ReceiptRow key={`metered-${line.code}`} line={line} money={money} struck={packageApplied !== null} />
          ))}
          <tr className="subtotal">
            <th scope="row" colSpan={3}>
              {t.receipt.metered}
            </th>
            <td className="amount">{packageApplied ? <s>{money(receipt.meteredCents)}</s> : money(receipt.meteredCents)}</td>
          </tr>
          {packageApplied ? (
            <tr data-testid="receipt-package">
              <th scope="row" colSpan={3}>
                {format(t.receipt.packageApplied, { name: packageApplied.name, count: packageApplied.count, price: money(packageApplied.cents), saved: money(packageApplied.savedCents) })}
              </th>
              <td className="amount">{money(packageApplied.cents)}</td>
            </tr>
          ) : null}
          {receipt.feeLines.length > 0 ? (
            <tr>
              <th scope="rowgroup" colSpan={4} className="group">
                {t.receipt.fees}
              </th>
            </tr>
          ) : null}
          {receipt.feeLines.map((line, index) => (
            <ReceiptRow key={`fee-${line.code}-${index}`} line={line} money={money} struck={false} />
          ))}
        </tbody>
        <tfoot>
          <tr className="total">
            <th scope="row" colSpan={3}>
              {t.receipt.total}
            </th>
            <td className="amount" data-testid="receipt-total">
              {money(receipt.totalCents)}
            </td>
          </tr>
        </tfoot>
      </table>
      <p className="small" data-testid="receipt-vat">
        {format(t.receipt.vat, { rate: new Intl.NumberFormat(language, { style: 'percent', maximumFractionDigits: 1 }).format(receipt.vatRate), vat: money(receipt.vatCents) })}
      </p>
      <dl className="facts">
        <dt>{t.receipt.deposit}</dt>
        <dd>{money(receipt.depositCents)}</dd>
        <dt>{t.receipt.depositReleased}</dt>
        <dd data-testid="receipt-deposit-released">{money(receipt.depositReleasedCents)}</dd>
        {receipt.extraChargeCents > 0 ? (
          <>
            <dt>{t.receipt.extraCharge}</dt>
            <dd>{money(receipt.extraChargeCents)}</dd>
          </>
        ) : null}
      </dl>
      <p>{format(t.receipt.payment, { status: t.receipt.paymentStatus[receipt.paymentStatus] ?? receipt.paymentStatus })}</p>
      <ReceiptPdf tripId={receipt.tripId} />
    </>
  );
}

function ReceiptRow({ line, money, struck }: { line: Line; money: (cents: number) => string; struck: boolean }) {
  const { t, format, language } = useI18n();
  const label = t.receipt.lines[line.code] ?? line.description;
  let quantity = String(line.quantity);
  let unit = money(line.unitCents);
  if (line.code === 'driving' || line.code === 'parking') {
    quantity = format(t.receipt.minutes, { count: line.quantity });
    unit = format(t.receipt.perMinute, { price: unit });
  } else if (line.code === 'distance') {
    quantity = formatDistance(line.quantity, language);
    unit = format(t.receipt.perKm, { price: unit });
  }
  const amount = money(line.cents);
  return (
    <tr data-line={line.code}>
      <th scope="row">{label}</th>
      <td>{quantity}</td>
      <td>{unit}</td>
      <td className="amount">{struck ? <s>{amount}</s> : amount}</td>
    </tr>
  );
}

/**
 * The PDF needs the rider's bearer token, which a plain link cannot carry: fetched as a Blob and
 * offered as an object URL (revoked when the screen goes).
 */
function ReceiptPdf({ tripId }: { tripId: string }) {
  const { t } = useI18n();
  const [state, setState] = useState<{ kind: 'idle' } | { kind: 'loading' } | { kind: 'ready'; url: string } | { kind: 'failed'; error: unknown }>({ kind: 'idle' });
  const url = state.kind === 'ready' ? state.url : undefined;
  useEffect(() => (url ? () => URL.revokeObjectURL(url) : undefined), [url]);

  async function fetchPdf() {
    setState({ kind: 'loading' });
    try {
      const blob = await api.download(tripRoutes.receiptPdf, { params: { id: tripId }, timeoutMs: 30_000 });
      const objectUrl = URL.createObjectURL(blob);
      setState({ kind: 'ready', url: objectUrl });
      // Starts the download the rider asked for; the link stays for opening it again.
      const anchor = document.createElement('a');
      anchor.href = objectUrl;
      anchor.download = `receipt-${tripId}.pdf`;
      anchor.click();
    } catch (error) {
      setState({ kind: 'failed', error });
    }
  }

  return (
    <div className="pdf">
      <button type="button" className="button secondary" disabled={state.kind === 'loading'} onClick={() => void fetchPdf()}>
        {t.receipt.pdf}
      </button>
      {state.kind === 'loading' ? <Loading label={t.receipt.pdfLoading} /> : null}
      {state.kind === 'ready' ? (
        <p>
          <a href={state.url} download={`receipt-${tripId}.pdf`} data-testid="receipt-pdf-link">
            {t.receipt.pdfReady}
          </a>
        </p>
      ) : null}
      {state.kind === 'failed' ? <ErrorNotice error={state.error} onRetry={() => void fetchPdf()} /> : null}
    </div>
  );
}
