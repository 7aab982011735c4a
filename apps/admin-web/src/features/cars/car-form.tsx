import { adminCarRoutes, type Car, type CarCategory, type FuelType } from '@carshare/contracts';
import { useId, useState, type FormEvent } from 'react';
import { useSession } from '../../api/session-context.tsx';
import { useI18n } from '../../i18n/i18n.tsx';
import { FormFooter } from '../../ui/error-notice.tsx';
import { carCategories, categoryLabel, fuelLabel, fuelTypes } from './car-labels.ts';

type Mode = { kind: 'create' } | { kind: 'edit'; car: Car };

/**
 * Creates a car or edits one. An edit sends the version it was based on, so a change made by
 * someone else meanwhile is refused (VERSION_MISMATCH) instead of silently overwritten.
 */
export function CarForm({ mode, onCancel, onSaved }: { mode: Mode; onCancel: () => void; onSaved: (car: Car, deviceSecret?: string) => void }) {
  const session = useSession();
  const { t } = useI18n();
  const headingId = useId();
  const editing = mode.kind === 'edit' ? mode.car : undefined;
  const [plate, setPlate] = useState(editing?.plate ?? '');
  const [vin, setVin] = useState('');
  const [model, setModel] = useState(editing?.model ?? '');
  const [category, setCategory] = useState<CarCategory>(editing?.category ?? 'compact');
  const [seats, setSeats] = useState(String(editing?.seats ?? 5));
  const [fuelType, setFuelType] = useState<FuelType>(editing?.fuelType ?? 'electric');
  const [homeZone, setHomeZone] = useState(editing?.homeZone ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      if (editing) {
        const car = await session.call(adminCarRoutes.update, {
          params: { id: editing.id },
          body: { expectedVersion: editing.version, plate: plate.trim().toUpperCase(), model: model.trim(), category, seats: Number(seats), homeZone: homeZone.trim() || null },
        });
        onSaved(car);
      } else {
        const created = await session.call(adminCarRoutes.create, {
          body: {
            plate: plate.trim().toUpperCase(),
            vin: vin.trim().toUpperCase(),
            model: model.trim(),
            category,
            seats: Number(seats),
            fuelType,
            ...(homeZone.trim() ? { homeZone: homeZone.trim() } : {}),
          },
        });
        onSaved(created.car, created.deviceSecret);
      }
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="panel car-form" aria-labelledby={headingId} onSubmit={(event) => void submit(event)}>
      <h2 id={headingId}>{editing ? t('cars.editHeading', { plate: editing.plate }) : t('cars.createHeading')}</h2>
      <div className="grid">
        <label>
          {t('cars.field.plate')}
          <input required maxLength={16} pattern="[A-Za-z0-9][A-Za-z0-9 \-]*" value={plate} onChange={(event) => setPlate(event.target.value)} />
        </label>
        {!editing && (
          <label>
            {t('cars.field.vin')}
            <input required minLength={17} maxLength={17} pattern="[A-HJ-NPR-Za-hj-npr-z0-9]{17}" value={vin} onChange={(event) => setVin(event.target.value)} />
          </label>
        )}
        <label>
          {t('cars.field.model')}
          <input required maxLength={80} value={model} onChange={(event) => setModel(event.target.value)} />
        </label>
        <label>
          {t('cars.field.category')}
          <select value={category} onChange={(event) => setCategory(event.target.value as CarCategory)}>
            {carCategories.map((value) => (
              <option key={value} value={value}>
                {t(categoryLabel(value))}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('cars.field.seats')}
          <input type="number" required min={1} max={9} value={seats} onChange={(event) => setSeats(event.target.value)} />
        </label>
        {!editing && (
          <label>
            {t('cars.field.fuelType')}
            <select value={fuelType} onChange={(event) => setFuelType(event.target.value as FuelType)}>
              {fuelTypes.map((value) => (
                <option key={value} value={value}>
                  {t(fuelLabel(value))}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          {t('cars.field.homeZone')}
          <input maxLength={64} value={homeZone} onChange={(event) => setHomeZone(event.target.value)} />
        </label>
      </div>
      <FormFooter error={error} busy={busy} submitLabel={t('common.save')} onCancel={onCancel} />
    </form>
  );
}
