export interface LatLng {
  lat: number;
  lng: number;
}

/** Mean Earth radius (IUGG), metres: what haversine distances in this service are measured with. */
export const earthRadiusM = 6_371_008.8;

const toRadians = (degrees: number) => (degrees * Math.PI) / 180;

/** Great-circle distance in metres. Good to ~0.5 % (the Earth is not a sphere): enough for billing km and "nearby". */
export function haversineMetres(a: LatLng, b: LatLng): number {
  const dLat = toRadians(b.lat - a.lat);
  const dLng = toRadians(b.lng - a.lng);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(toRadians(a.lat)) * Math.cos(toRadians(b.lat)) * Math.sin(dLng / 2) ** 2;
  return 2 * earthRadiusM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Sum of the legs between consecutive points (a trip's distance from its telemetry). */
export function pathMetres(points: readonly LatLng[]): number {
  let total = 0;
  for (let index = 1; index < points.length; index += 1) total += haversineMetres(points[index - 1]!, points[index]!);
  return total;
}

export interface BoundingBox {
  minLat: number;
  maxLat: number;
  minLng: number;
  maxLng: number;
}

/**
 * A box that contains every point within `radiusM` of `center` (a cheap pre-filter; the exact
 * distance decides). Near the poles, or across the antimeridian, it widens to all longitudes
 * rather than being wrong.
 */
export function boundingBox(center: LatLng, radiusM: number): BoundingBox {
  const dLat = (radiusM / earthRadiusM) * (180 / Math.PI);
  const minLat = Math.max(-90, center.lat - dLat);
  const maxLat = Math.min(90, center.lat + dLat);
  const cosLat = Math.cos(toRadians(Math.max(Math.abs(minLat), Math.abs(maxLat))));
  const dLng = cosLat < 1e-9 ? 360 : dLat / cosLat;
  if (dLng >= 180 || center.lng - dLng < -180 || center.lng + dLng > 180) return { minLat, maxLat, minLng: -180, maxLng: 180 };
  return { minLat, maxLat, minLng: center.lng - dLng, maxLng: center.lng + dLng };
}
