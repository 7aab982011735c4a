import { carRoutes } from '@carshare/contracts';
import { useId, useState } from 'react';
import { api } from '../../app/api.ts';
import { useLoad } from '../../app/use-api.ts';
import { useI18n } from '../../i18n/i18n.tsx';
import { formatMoney } from '../../i18n/money.ts';
import { ErrorNotice, Loading } from '../../ui/error-notice.tsx';

/** Planned times a rider picks from; within the route's 1–1440 minutes. */
export const plannedMinuteChoices = [15, 30, 60, 120, 180, 300, 1440] as const;
export const plannedKmChoices = [0, 5, 10, 25, 50, 100, 200] as const;

/**
 * What a trip in this car would cost for the planned minutes and km, from the server's current
 * tariff (never worked out here: the table changes while running and the car's category decides).
 */
export function PricePreview({ carId }: { carId: string }) {
  const { t, format, language } = useI18n();
  const [minutes, setMinutes] = useState<number>(30);
  const [km, setKm] = useState<number>(10);
  const minutesId = useId();
  const kmId = useId();
  const [preview, reload] = useLoad((signal) => api.call(carRoutes.pricePreview, { params: { id: carId }, query: { minutes, km }, signal }), `${carId}:${minutes}:${km}`);
  const texts = t.car.preview;
  const duration = (value: number) => (value % 60 === 0 ? format(texts.hours, { count: value / 60 }) : format(texts.minutes, { count: value }));

  return (
    <div className="price-preview" data-testid="price-preview">
      <div>
        <label htmlFor={minutesId}>{texts.minutesLabel}</label>{' '}
        <select id={minutesId} value={minutes} onChange={(event) => setMinutes(Number(event.target.value))}>
          {plannedMinuteChoices.map((value) => (
            <option key={value} value={value}>
              {duration(value)}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor={kmId}>{texts.kmLabel}</label>{' '}
        <select id={kmId} value={km} onChange={(event) => setKm(Number(event.target.value))}>
          {plannedKmChoices.map((value) => (
            <option key={value} value={value}>
              {format(texts.km, { count: value })}
            </option>
          ))}
        </select>
      </div>
      {preview.state === 'loading' ? <Loading label={texts.loading} /> : null}
      {preview.state === 'failed' ? <ErrorNotice error={preview.error} onRetry={reload} /> : null}
      {preview.state === 'loaded'
        ? (() => {
            const value = preview.value;
            const money = (cents: number) => formatMoney(cents, value.currency, language);
            // A preview has no parking, and a category without a km price has no distance line: zero lines would only be noise.
            const lines = value.meteredLines.filter((line) => line.code !== 'parking' && !(line.code === 'distance' && line.unitCents === 0));
            return (
              <div aria-live="polite">
                <p className="preview-total" data-testid="price-preview-total">
                  {format(texts.total, { price: money(value.totalCents), duration: duration(value.minutes), km: value.km })}
                </p>
                <ul className="preview-lines">
                  {lines.map((line) => (
                    <li key={line.code}>
                      {t.receipt.lines[line.code] ?? line.description}
                      {line.code === 'driving' ? ` (${format(texts.minutes, { count: line.quantity })} × ${format(t.receipt.perMinute, { price: money(line.unitCents) })})` : null}
                      {line.code === 'distance' ? ` (${format(texts.km, { count: line.quantity / 1000 })} × ${format(t.receipt.perKm, { price: money(line.unitCents) })})` : null}
                      {`: ${money(line.cents)}`}
                    </li>
                  ))}
                </ul>
                {value.packageApplied ? (
                  <p data-testid="price-preview-package">
                    {format(texts.packageApplied, {
                      name: value.packageApplied.name,
                      count: value.packageApplied.count,
                      price: money(value.packageApplied.cents),
                      saved: money(value.packageApplied.savedCents),
                    })}
                  </p>
                ) : null}
                <p className="small">{format(texts.vat, { vat: money(value.vatCents) })}</p>
                <p className="small">{format(texts.fine, { version: value.tariffVersion })}</p>
              </div>
            );
          })()
        : null}
    </div>
  );
}
