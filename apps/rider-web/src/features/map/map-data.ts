import type { carRoutes, mapRoutes, RouteResponse, tripRoutes } from '@carshare/contracts';

export type StreetMapView = RouteResponse<typeof mapRoutes.streets>;
export type NearbyCarView = RouteResponse<typeof carRoutes.nearby>['items'][number];
export type ZonesView = RouteResponse<typeof tripRoutes.zones>;

/** The middle of the street network's bounding box, and a radius reaching its corners (capped by the API's 50 km). */
export function searchAreaOf(bbox: readonly [number, number, number, number]): { lat: number; lng: number; radiusM: number } {
  const [west, south, east, north] = bbox;
  const lat = (south + north) / 2;
  const lng = (west + east) / 2;
  const metresPerDegree = 111_320;
  const dx = ((east - west) / 2) * metresPerDegree * Math.cos((lat * Math.PI) / 180);
  const dy = ((north - south) / 2) * metresPerDegree;
  return { lat, lng, radiusM: Math.min(50_000, Math.max(1, Math.ceil(Math.hypot(dx, dy)))) };
}

export function formatDistance(metres: number, locale: string): string {
  return metres < 1000
    ? `${new Intl.NumberFormat(locale, { maximumFractionDigits: 0 }).format(metres)} m`
    : `${new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(metres / 1000)} km`;
}
