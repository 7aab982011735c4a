import { adminCarRoutes, type Car, type CarCategory, type CarState } from '@carshare/contracts';
import { useCallback, useMemo, useState } from 'react';
import { useSession } from '../../api/session-context.tsx';
import { useI18n } from '../../i18n/i18n.tsx';
import { ErrorNotice, StatusMessage } from '../../ui/error-notice.tsx';
import { PageStates, Pager } from '../../ui/pager.tsx';
import { useCursorPages } from '@carshare/web-client/use-cursor-pages';
import { CarForm } from './car-form.tsx';
import { carCategories, carStates, categoryLabel, stateLabel } from './car-labels.ts';

type Sort = 'newest' | 'oldest' | 'energy_asc' | 'plate';
const sorts: readonly Sort[] = ['newest', 'oldest', 'energy_asc', 'plate'];
const pageSize = 20;

interface Filters {
  state: CarState | '';
  category: CarCategory | '';
  lowBatteryBelowPct: string;
  offline: '' | 'true' | 'false';
  sort: Sort;
}

type Panel = { kind: 'none' } | { kind: 'create' } | { kind: 'edit'; car: Car } | { kind: 'secret'; plate: string; secret: string };

/** The fleet, filtered, sorted and paged by the car service (never in the browser). */
export function CarsScreen() {
  const session = useSession();
  const { t, formatDate } = useI18n();
  const [filters, setFilters] = useState<Filters>({ state: '', category: '', lowBatteryBelowPct: '', offline: '', sort: 'newest' });
  const [panel, setPanel] = useState<Panel>({ kind: 'none' });
  const [status, setStatus] = useState<string | undefined>(undefined);
  const [actionError, setActionError] = useState<unknown>(undefined);
  const [busyCar, setBusyCar] = useState<string | undefined>(undefined);

  const load = useCallback(
    (cursor: string | undefined, signal: AbortSignal) =>
      session.call(adminCarRoutes.list, {
        query: {
          limit: pageSize,
          ...(cursor ? { cursor } : {}),
          ...(filters.state ? { state: filters.state } : {}),
          ...(filters.category ? { category: filters.category } : {}),
          ...(filters.lowBatteryBelowPct !== '' ? { lowBatteryBelowPct: Number(filters.lowBatteryBelowPct) } : {}),
          ...(filters.offline ? { offline: filters.offline === 'true' } : {}),
          sort: filters.sort,
        },
        signal,
      }),
    [session, filters],
  );
  const filterKey = useMemo(() => JSON.stringify(filters), [filters]);
  const pages = useCursorPages<Car>(filterKey, load);

  async function setMaintenance(car: Car, on: boolean) {
    setBusyCar(car.id);
    setActionError(undefined);
    try {
      const updated = await session.call(adminCarRoutes.maintenance, { params: { id: car.id }, body: { on } });
      setStatus(t('cars.maintenanceDone', { plate: updated.plate, state: t(stateLabel(updated.state)) }));
      pages.reload();
    } catch (error) {
      setActionError(error);
    } finally {
      setBusyCar(undefined);
    }
  }

  const update = <Key extends keyof Filters>(key: Key, value: Filters[Key]) => setFilters((current) => ({ ...current, [key]: value }));

  return (
    <section aria-labelledby="cars-heading">
      <div className="screen-head">
        <h1 id="cars-heading">{t('cars.heading')}</h1>
        <button type="button" onClick={() => setPanel({ kind: 'create' })}>
          {t('cars.create')}
        </button>
      </div>

      <form className="filters" onSubmit={(event) => event.preventDefault()}>
        <label>
          {t('cars.filter.state')}
          <select value={filters.state} onChange={(event) => update('state', event.target.value as Filters['state'])}>
            <option value="">{t('common.any')}</option>
            {carStates.map((state) => (
              <option key={state} value={state}>
                {t(stateLabel(state))}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('cars.filter.category')}
          <select value={filters.category} onChange={(event) => update('category', event.target.value as Filters['category'])}>
            <option value="">{t('common.any')}</option>
            {carCategories.map((category) => (
              <option key={category} value={category}>
                {t(categoryLabel(category))}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('cars.filter.lowBattery')}
          <input type="number" min={0} max={100} inputMode="numeric" value={filters.lowBatteryBelowPct} onChange={(event) => update('lowBatteryBelowPct', event.target.value)} />
        </label>
        <label>
          {t('cars.filter.offline')}
          <select value={filters.offline} onChange={(event) => update('offline', event.target.value as Filters['offline'])}>
            <option value="">{t('common.any')}</option>
            <option value="true">{t('cars.filter.onlyOffline')}</option>
            <option value="false">{t('cars.filter.onlyOnline')}</option>
          </select>
        </label>
        <label>
          {t('cars.sort')}
          <select value={filters.sort} onChange={(event) => update('sort', event.target.value as Sort)}>
            {sorts.map((sort) => (
              <option key={sort} value={sort}>
                {t(`cars.sort.${sort}`)}
              </option>
            ))}
          </select>
        </label>
      </form>

      {panel.kind === 'create' && (
        <CarForm
          mode={{ kind: 'create' }}
          onCancel={() => setPanel({ kind: 'none' })}
          onSaved={(car, secret) => {
            setPanel(secret ? { kind: 'secret', plate: car.plate, secret } : { kind: 'none' });
            setStatus(t('cars.saved', { plate: car.plate }));
            pages.reload();
          }}
        />
      )}
      {panel.kind === 'edit' && (
        <CarForm
          mode={{ kind: 'edit', car: panel.car }}
          onCancel={() => setPanel({ kind: 'none' })}
          onSaved={(car) => {
            setPanel({ kind: 'none' });
            setStatus(t('cars.saved', { plate: car.plate }));
            pages.reload();
          }}
        />
      )}
      {panel.kind === 'secret' && <DeviceSecret plate={panel.plate} secret={panel.secret} onClose={() => setPanel({ kind: 'none' })} />}

      <StatusMessage text={status} />
      {actionError !== undefined && <ErrorNotice error={actionError} />}
      <PageStates pages={pages} empty={t('cars.empty')} />
      {pages.items.length > 0 && (
        <table className="data" aria-busy={pages.loading}>
          <caption className="visually-hidden">{t('cars.heading')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('cars.col.plate')}</th>
              <th scope="col">{t('cars.col.model')}</th>
              <th scope="col">{t('cars.col.category')}</th>
              <th scope="col">{t('cars.col.state')}</th>
              <th scope="col">{t('cars.col.energy')}</th>
              <th scope="col">{t('cars.col.lastSeen')}</th>
              <th scope="col">{t('common.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {pages.items.map((car) => (
              <tr key={car.id} data-car-id={car.id}>
                <th scope="row">{car.plate}</th>
                <td>{car.model}</td>
                <td>{t(categoryLabel(car.category))}</td>
                <td>
                  <span className={`state state-${car.state}`}>{t(stateLabel(car.state))}</span>
                </td>
                <td>{Math.round(car.energyPct)} %</td>
                <td>{formatDate(car.lastSeenAt)}</td>
                <td className="actions">
                  <button type="button" onClick={() => setPanel({ kind: 'edit', car })} aria-label={`${t('cars.edit')} ${car.plate}`}>
                    {t('cars.edit')}
                  </button>
                  {car.state === 'maintenance' ? (
                    <button type="button" disabled={busyCar === car.id} onClick={() => void setMaintenance(car, false)} aria-label={`${t('cars.maintenanceOff')} ${car.plate}`}>
                      {t('cars.maintenanceOff')}
                    </button>
                  ) : (
                    <button type="button" disabled={busyCar === car.id} onClick={() => void setMaintenance(car, true)} aria-label={`${t('cars.maintenanceOn')} ${car.plate}`}>
                      {t('cars.maintenanceOn')}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager pages={pages} label={t('cars.heading')} />
    </section>
  );
}

/** The device secret, shown once: the platform keeps only its hash, so this is the only chance to read it. */
function DeviceSecret({ plate, secret, onClose }: { plate: string; secret: string; onClose: () => void }) {
  const { t } = useI18n();
  const [copied, setCopied] = useState(false);
  return (
    <section className="panel secret" aria-labelledby="secret-heading" role="region">
      <h2 id="secret-heading">{t('cars.secretHeading', { plate })}</h2>
      <p>{t('cars.secretOnce')}</p>
      <output className="secret-value" aria-label={t('cars.secretHeading', { plate })}>
        {secret}
      </output>
      <div className="buttons">
        <button
          type="button"
          onClick={() => {
            void navigator.clipboard?.writeText(secret).then(() => setCopied(true));
          }}
        >
          {copied ? t('common.copied') : t('common.copy')}
        </button>
        <button type="button" onClick={onClose}>
          {t('common.close')}
        </button>
      </div>
    </section>
  );
}
