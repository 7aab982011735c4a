/** A point on the earth in degrees (WGS 84), the order GeoJSON does not use: GeoJSON is [lng, lat]. */
export interface LatLng {
  lat: number;
  lng: number;
}

const earthRadiusM = 6_371_008.8;
const radians = Math.PI / 180;

/** Great-circle distance in metres. */
export function haversineM(a: LatLng, b: LatLng): number {
  const dLat = (b.lat - a.lat) * radians;
  const dLng = (b.lng - a.lng) * radians;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * radians) * Math.cos(b.lat * radians) * Math.sin(dLng / 2) ** 2;
  return 2 * earthRadiusM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Initial compass bearing from a to b, 0 = north, clockwise, in [0, 360). */
export function bearingDeg(a: LatLng, b: LatLng): number {
  const φ1 = a.lat * radians;
  const φ2 = b.lat * radians;
  const Δλ = (b.lng - a.lng) * radians;
  const y = Math.sin(Δλ) * Math.cos(φ2);
  const x = Math.cos(φ1) * Math.sin(φ2) - Math.sin(φ1) * Math.cos(φ2) * Math.cos(Δλ);
  return ((Math.atan2(y, x) / radians) % 360 + 360) % 360;
}

/** The point a fraction t of the way from a to b (straight in degrees: fine at street scale). */
export function interpolate(a: LatLng, b: LatLng, t: number): LatLng {
  return { lat: a.lat + (b.lat - a.lat) * t, lng: a.lng + (b.lng - a.lng) * t };
}

/** Moves a point by metres east and north (local flat approximation, fine within a city). */
export function offsetByMetres(origin: LatLng, eastM: number, northM: number): LatLng {
  return {
    lat: origin.lat + northM / 111_320,
    lng: origin.lng + eastM / (111_320 * Math.cos(origin.lat * radians)),
  };
}
