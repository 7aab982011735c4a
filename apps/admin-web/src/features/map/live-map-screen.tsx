import { mapRoutes, type CarState, type LiveCar, type RouteResponse } from '@carshare/contracts';
import { GeoJSONSource, Map as MapLibreMap, NavigationControl, setWorkerUrl, type StyleSpecification } from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?worker&url';
import type { Feature, FeatureCollection, Point } from 'geojson';
import { useEffect, useMemo, useRef, useState } from 'react';
import { useSession } from '../../api/session-context.tsx';
import { useI18n } from '../../i18n/i18n.tsx';
import { ErrorNotice } from '../../ui/error-notice.tsx';
import { carStates, stateColours, stateLabel } from '../cars/car-labels.ts';
import { useLiveFleet } from './use-live-fleet.ts';

// maplibre v6 finds its worker next to its own module, which a bundle does not keep: Vite emits
// the worker as an asset and this hands maplibre its URL (same origin, so CSP worker-src 'self').
setWorkerUrl(workerUrl);

type StreetMap = RouteResponse<typeof mapRoutes.streets>;

/** The map draws only what the platform serves: no tile server, streets as GeoJSON. */
const baseStyle: StyleSpecification = {
  version: 8,
  sources: {},
  layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#f3f1ec' } }],
};

function carsAsGeoJson(cars: Iterable<LiveCar>): FeatureCollection<Point> {
  const features: Array<Feature<Point>> = [];
  for (const car of cars) {
    features.push({ type: 'Feature', id: car.id, geometry: { type: 'Point', coordinates: [car.lng, car.lat] }, properties: { state: car.state, energyPct: car.energyPct } });
  }
  return { type: 'FeatureCollection', features };
}

/** Every car on the city's streets, coloured by state, live over the WebSocket feed. */
export function LiveMapScreen() {
  const session = useSession();
  const { t, errorText } = useI18n();
  const container = useRef<HTMLDivElement>(null);
  const mapRef = useRef<MapLibreMap | undefined>(undefined);
  const [ready, setReady] = useState(false);
  const [streetsError, setStreetsError] = useState<unknown>(undefined);
  const [streetCount, setStreetCount] = useState<number | undefined>(undefined);
  const [noWebgl, setNoWebgl] = useState(false);
  const [visible, setVisible] = useState<ReadonlySet<CarState>>(new Set(carStates));
  const { cars, connection } = useLiveFleet(session);

  useEffect(() => {
    if (!container.current) return;
    let map: MapLibreMap;
    try {
      map = new MapLibreMap({ container: container.current, style: baseStyle, center: [0, 0], zoom: 1, attributionControl: false });
    } catch {
      // No WebGL (locked-down browsers, some VMs): the counts below stay live without the map.
      setNoWebgl(true);
      return;
    }
    mapRef.current = map;
    map.addControl(new NavigationControl({ showCompass: false }), 'top-right');
    const controller = new AbortController();
    map.on('load', () => {
      map.addSource('cars', { type: 'geojson', data: carsAsGeoJson([]) });
      map.addLayer({
        id: 'cars',
        type: 'circle',
        source: 'cars',
        paint: {
          'circle-radius': 6,
          'circle-color': ['match', ['get', 'state'], ...carStates.flatMap((state) => [state, stateColours[state]]), '#000000'] as unknown as string,
          'circle-stroke-color': '#ffffff',
          'circle-stroke-width': 1.5,
        },
      });
      session.call(mapRoutes.streets, { signal: controller.signal }).then(
        (streets: StreetMap) => {
          map.addSource('streets', { type: 'geojson', data: streets as unknown as FeatureCollection });
          map.addLayer(
            {
              id: 'streets',
              type: 'line',
              source: 'streets',
              paint: {
                'line-color': ['match', ['get', 'class'], 'primary', '#9a8f7a', 'secondary', '#b5ab97', '#cfc7b6'] as unknown as string,
                'line-width': ['match', ['get', 'class'], 'primary', 4, 'secondary', 2.5, 1.5] as unknown as number,
              },
            },
            'cars',
          );
          const [west, south, east, north] = streets.bbox;
          map.fitBounds([west, south, east, north], { padding: 24, animate: false });
          setStreetCount(streets.features.length);
        },
        (error: unknown) => !controller.signal.aborted && setStreetsError(error),
      );
      setReady(true);
    });
    return () => {
      controller.abort();
      mapRef.current = undefined;
      map.remove();
    };
  }, [session]);

  useEffect(() => {
    const source = ready ? mapRef.current?.getSource('cars') : undefined;
    // setData resolves once the worker has indexed the data; nothing waits on that here.
    if (source instanceof GeoJSONSource) void source.setData(carsAsGeoJson(cars.values()));
  }, [cars, ready]);

  useEffect(() => {
    if (ready) mapRef.current?.setFilter('cars', ['in', ['get', 'state'], ['literal', [...visible]]]);
  }, [visible, ready]);

  const counts = useMemo(() => {
    const byState = new Map<CarState, number>(carStates.map((state) => [state, 0]));
    for (const car of cars.values()) byState.set(car.state, (byState.get(car.state) ?? 0) + 1);
    return byState;
  }, [cars]);

  return (
    <section aria-labelledby="map-heading" className="live-map">
      <h1 id="map-heading">{t('map.heading')}</h1>
      <p className="connection" role="status" aria-live="polite">
        {connection.state === 'open'
          ? t('map.connected', { count: cars.size })
          : connection.state === 'connecting'
            ? t('map.connecting')
            : t('map.disconnected', { seconds: Math.round(connection.retryInMs / 1000) })}
      </p>
      {streetsError !== undefined && (
        <p className="notice notice-error" role="alert">
          {t('map.streetsFailed', { reason: errorText(streetsError) })}
        </p>
      )}
      {noWebgl && <ErrorNotice error={new Error(t('map.noWebgl'))} />}
      <div className="map-layout">
        {/* data-streets: how many streets the map drew, for tests and for support to read off the page. */}
        <div ref={container} className="map" role="region" aria-label={t('map.region')} data-streets={streetCount} />
        <fieldset className="legend">
          <legend>{t('map.filters')}</legend>
          {carStates.map((state) => (
            <label key={state}>
              <input
                type="checkbox"
                checked={visible.has(state)}
                onChange={(event) =>
                  setVisible((current) => {
                    const next = new Set(current);
                    if (event.target.checked) next.add(state);
                    else next.delete(state);
                    return next;
                  })
                }
              />
              <span className="swatch" data-state={state} aria-hidden="true" />
              {t(stateLabel(state))} <span className="count">({counts.get(state) ?? 0})</span>
            </label>
          ))}
        </fieldset>
      </div>
    </section>
  );
}
