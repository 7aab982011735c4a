import { carRoutes, mapRoutes, publicApi } from '@carshare/contracts';
import { lazy, Suspense, useState } from 'react';
import { api } from '../../app/api.ts';
import { navigate } from '../../app/router.ts';
import { useLoad } from '../../app/use-api.ts';
import { useI18n } from '../../i18n/i18n.tsx';
import { ErrorNotice, Loading, NotOffered } from '../../ui/error-notice.tsx';
import { linkTo } from '../auth/auth-screens.tsx';
import { formatDistance, searchAreaOf, type NearbyCarView, type StreetMapView } from './map-data.ts';

// The map code (maplibre, ~250 KB compressed) is its own chunk, fetched after the first screen.
const CarMap = lazy(() => import('./car-map.tsx').then((module) => ({ default: module.CarMap })));

/** Operating zones come from `GET /v1/zones` once the API has that route; until then the map says they are missing. */
const zonesOffered = 'zones' in publicApi;

export function MapScreen() {
  const { t, format, language } = useI18n();
  const [mapProblem, setMapProblem] = useState<string>();
  const [result, reload] = useLoad(async (signal) => {
    const streets: StreetMapView = await api.call(mapRoutes.streets, { signal });
    const area = searchAreaOf(streets.bbox);
    const nearby = await api.call(carRoutes.nearby, { query: { ...area, limit: 100 }, signal });
    return { streets, cars: nearby.items };
  }, 'map');

  return (
    <section aria-labelledby="map-title" className="map-screen">
      <div className="row">
        <h1 id="map-title">{t.map.title}</h1>
        <button type="button" className="button secondary" onClick={reload}>
          {t.map.refresh}
        </button>
      </div>
      {result.state === 'loading' ? <Loading /> : null}
      {result.state === 'failed' ? <ErrorNotice error={result.error} onRetry={reload} /> : null}
      {result.state === 'loaded' ? (
        <>
          {mapProblem ? (
            <p className="notice notice-info" role="status">
              {format(t.map.mapUnavailable, { reason: mapProblem })}
            </p>
          ) : (
            <Suspense fallback={<div className="map map-placeholder"><Loading label={t.map.loadingMap} /></div>}>
              <CarMap streets={result.value.streets} cars={result.value.cars} label={t.map.mapLabel} onSelect={(id) => navigate(`/cars/${id}`)} onUnavailable={setMapProblem} />
            </Suspense>
          )}
          {zonesOffered ? null : <NotOffered text={t.map.zonesMissing} />}
          <h2>{t.map.listTitle}</h2>
          {result.value.cars.length === 0 ? <p className="empty">{t.map.empty}</p> : <CarList cars={result.value.cars} language={language} />}
        </>
      ) : null}
    </section>
  );
}

function CarList({ cars, language }: { cars: readonly NearbyCarView[]; language: string }) {
  const { t, format } = useI18n();
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
