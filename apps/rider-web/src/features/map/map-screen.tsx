import { mapRoutes, tripRoutes } from '@carshare/contracts';
import { lazy, Suspense, useMemo, useState } from 'react';
import { api } from '../../app/api.ts';
import { navigate } from '../../app/router.ts';
import { useLoad } from '../../app/use-api.ts';
import { useI18n } from '../../i18n/i18n.tsx';
import { formatMoney } from '../../i18n/money.ts';
import { ErrorNotice, Loading } from '../../ui/error-notice.tsx';
import { linkTo } from '../auth/auth-screens.tsx';
import { useNearbyCars } from './live-cars.ts';
import { formatDistance, searchAreaOf, type NearbyCarView, type StreetMapView, type ZonesView } from './map-data.ts';

// The map code (maplibre, ~250 KB compressed) is its own chunk, fetched after the first screen.
const CarMap = lazy(() => import('./car-map.tsx').then((module) => ({ default: module.CarMap })));

export function MapScreen() {
  const { t, format } = useI18n();
  const [mapProblem, setMapProblem] = useState<string>();
  const [streets, reloadStreets] = useLoad((signal): Promise<StreetMapView> => api.call(mapRoutes.streets, { signal }), 'streets');
  // Zones are drawn when they load; the cars do not wait for them, nor fail with them.
  const [zones, reloadZones] = useLoad((signal) => api.call(tripRoutes.zones, { signal }), 'zones');
  const area = useMemo(() => (streets.state === 'loaded' ? searchAreaOf(streets.value.bbox) : undefined), [streets]);
  const nearby = useNearbyCars(area);
  const reload = () => {
    if (streets.state === 'failed') reloadStreets();
    if (zones.state === 'failed') reloadZones();
    nearby.reload();
  };

  return (
    <section aria-labelledby="map-title" className="map-screen">
      <div className="row">
        <h1 id="map-title">{t.map.title}</h1>
        <button type="button" className="button secondary" onClick={reload}>
          {t.map.refresh}
        </button>
      </div>
      {streets.state === 'failed' ? <ErrorNotice error={streets.error} onRetry={reloadStreets} /> : null}
      {nearby.error && !nearby.cars ? <ErrorNotice error={nearby.error} onRetry={nearby.reload} /> : null}
      {streets.state === 'loading' || (!nearby.cars && !nearby.error) ? <Loading /> : null}
      {streets.state === 'loaded' && nearby.cars ? (
        <>
          <div>
            {mapProblem ? (
              <p className="notice notice-info" role="status">
                {format(t.map.mapUnavailable, { reason: mapProblem })}
              </p>
            ) : (
              <Suspense
                fallback={
                  <div className="map map-placeholder">
                    <Loading label={t.map.loadingMap} />
                  </div>
                }
              >
                <CarMap
                  streets={streets.value}
                  cars={nearby.cars}
                  zones={zones.state === 'loaded' ? zones.value : undefined}
                  label={t.map.mapLabel}
                  onSelect={(id) => navigate(`/cars/${id}`)}
                  onUnavailable={setMapProblem}
                />
              </Suspense>
            )}
            {zones.state === 'loaded' ? <ZoneLegend zones={zones.value} /> : null}
            {zones.state === 'failed' ? (
              <p className="notice notice-info" role="status">
                {t.map.zonesUnavailable}
              </p>
            ) : null}
          </div>
          <div>
            <h2>{t.map.listTitle}</h2>
            {nearby.cars.length === 0 ? <p className="empty">{t.map.empty}</p> : <CarList cars={nearby.cars} />}
          </div>
        </>
      ) : null}
    </section>
  );
}

/** The zones in words (the map's colours are not the only way to know where a trip may end). */
function ZoneLegend({ zones }: { zones: ZonesView }) {
  const { t, format, language } = useI18n();
  return (
    <>
      <h2>{t.map.zonesTitle}</h2>
      <ul className="zone-legend" data-testid="zone-legend">
        {zones.features.map((zone) => (
          <li key={zone.id} className={`zone zone-${zone.properties.kind}`}>
            {format(t.map.zoneKinds[zone.properties.kind] ?? '{name}', {
              name: zone.properties.name,
              // The zones carry no currency of their own; the tariffs are in euros on this platform.
              fee: formatMoney(zone.properties.feeCents ?? 0, 'EUR', language),
            })}
          </li>
        ))}
      </ul>
    </>
  );
}

function CarList({ cars }: { cars: readonly NearbyCarView[] }) {
  const { t, format, language } = useI18n();
  return (
    <ul className="car-list" aria-label={t.map.listTitle}>
      {cars.map((car) => (
        <li key={car.id}>
          <a href={`/cars/${car.id}`} onClick={(event) => linkTo(event, `/cars/${car.id}`)} className="car-link">
            <span className="car-model">{car.model}</span>
            <span className="car-meta">
              {car.plate} · {t.car.category[car.category] ?? car.category} · {format(t.map.distance, { distance: formatDistance(car.distanceM, language) })} ·{' '}
              {format(t.map.energy, { pct: Math.round(car.energyPct) })}
            </span>
          </a>
        </li>
      ))}
    </ul>
  );
}
