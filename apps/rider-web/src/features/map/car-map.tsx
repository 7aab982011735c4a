import { Map as MapLibreMap, setWorkerUrl, type GeoJSONSource, type StyleSpecification } from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
// maplibre finds its worker next to its own module, which a bundle moves: the worker file is
// emitted as a hashed asset of ours instead (served from 'self', as the CSP's worker-src wants).
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import { useEffect, useRef, useState } from 'react';
import type { NearbyCarView, StreetMapView, ZonesView } from './map-data.ts';

setWorkerUrl(workerUrl);

export interface CarMapProps {
  streets: StreetMapView;
  cars: readonly NearbyCarView[];
  /** The operating zones, drawn under the cars; undefined until (or unless) they load. */
  zones: ZonesView | undefined;
  label: string;
  onSelect: (carId: string) => void;
  onUnavailable: (reason: string) => void;
}

/**
 * The city's streets (GeoJSON from the platform) and the nearby cars, drawn by maplibre with no
 * tile server: the style has only GeoJSON sources. Loaded lazily (this module and maplibre are a
 * separate chunk) so the first screen does not wait for ~250 KB of map code.
 */
export function CarMap({ streets, cars, zones, label, onSelect, onUnavailable }: CarMapProps) {
  const container = useRef<HTMLDivElement>(null);
  const map = useRef<MapLibreMap | undefined>(undefined);
  const [ready, setReady] = useState(false);
  const selectRef = useRef(onSelect);
  selectRef.current = onSelect;

  useEffect(() => {
    if (!container.current) return;
    const [west, south, east, north] = streets.bbox;
    const style: StyleSpecification = {
      version: 8,
      sources: {
        streets: { type: 'geojson', data: streets },
        cars: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } },
        zones: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } },
      },
      layers: [
        { id: 'background', type: 'background', paint: { 'background-color': '#eef1ec' } },
        {
          id: 'streets',
          type: 'line',
          source: 'streets',
          paint: {
            'line-color': ['match', ['get', 'class'], 'primary', '#b8a46a', 'secondary', '#c9c3b0', '#d9d9d9'],
            'line-width': ['match', ['get', 'class'], 'primary', 5, 'secondary', 3.5, 2],
          },
        },
        // Zones by kind: home green, drop-off amber, no-parking red; a fill light enough to read the streets through.
        {
          id: 'zones-fill',
          type: 'fill',
          source: 'zones',
          paint: { 'fill-color': ['match', ['get', 'kind'], 'home', '#0b6e4f', 'dropoff', '#c98a00', 'no_parking', '#a4161a', '#4f5a55'], 'fill-opacity': 0.08 },
        },
        {
          id: 'zones-line',
          type: 'line',
          source: 'zones',
          paint: { 'line-color': ['match', ['get', 'kind'], 'home', '#0b6e4f', 'dropoff', '#c98a00', 'no_parking', '#a4161a', '#4f5a55'], 'line-width': 2, 'line-dasharray': [2, 1] },
        },
        {
          id: 'cars',
          type: 'circle',
          source: 'cars',
          paint: { 'circle-radius': 8, 'circle-color': '#0b6e4f', 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2 },
        },
      ],
    };
    let created: MapLibreMap;
    try {
      created = new MapLibreMap({ container: container.current, style, bounds: [west, south, east, north], attributionControl: false, fadeDuration: 0 });
    } catch (error) {
      // No WebGL (old device, disabled GPU): the list beside the map still has every car.
      onUnavailable(error instanceof Error ? error.message : String(error));
      return;
    }
    map.current = created;
    created.getCanvas().setAttribute('aria-label', label);
    created.on('load', () => setReady(true));
    created.on('click', 'cars', (event) => {
      const id: unknown = event.features?.[0]?.properties?.['id'];
      if (typeof id === 'string') selectRef.current(id);
    });
    created.on('mouseenter', 'cars', () => (created.getCanvas().style.cursor = 'pointer'));
    created.on('mouseleave', 'cars', () => (created.getCanvas().style.cursor = ''));
    return () => {
      created.remove();
      map.current = undefined;
    };
    // Built once per street network; the cars change through their source below, and the label
    // and callbacks are read when used.
  }, [streets]);

  useEffect(() => {
    if (!ready) return;
    const source = map.current?.getSource<GeoJSONSource>('cars');
    void source?.setData({
      type: 'FeatureCollection',
      features: cars.map((car) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [car.position.lng, car.position.lat] }, properties: { id: car.id } })),
    });
  }, [cars, ready]);

  useEffect(() => {
    if (!ready || !zones) return;
    // The API's collection as GeoJSON (its `version` member is not part of the format).
    void map.current?.getSource<GeoJSONSource>('zones')?.setData({ type: 'FeatureCollection', features: zones.features } as Parameters<GeoJSONSource['setData']>[0]);
  }, [zones, ready]);

  return <div ref={container} className="map" data-testid="car-map" data-ready={ready ? 'true' : 'false'} data-car-count={ready ? cars.length : 0} data-zone-count={ready && zones ? zones.features.length : 0} />;
}
