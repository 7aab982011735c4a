/**
 * Where the nearest zone a trip may end in lies from the car, for the rider told "not here": the
 * server names the zone and its distance (409 details), the zones' shapes come from `GET
 * /v1/zones`, and this finds the compass direction to the zone's closest edge. A local flat
 * projection around the car is exact enough inside one city.
 */
export interface LatLng {
  lat: number;
  lng: number;
}

export type Compass = 'n' | 'ne' | 'e' | 'se' | 's' | 'sw' | 'w' | 'nw';
const compass: readonly Compass[] = ['n', 'ne', 'e', 'se', 's', 'sw', 'w', 'nw'];

const earthRadiusM = 6_371_008.8;
const toRad = (degrees: number) => (degrees * Math.PI) / 180;

/** The rings of a GeoJSON Polygon or MultiPolygon (as `GET /v1/zones` sends them); none for anything else. */
function ringsOf(geometry: { type: string; coordinates: readonly unknown[] }): number[][][] {
  if (geometry.type === 'Polygon') return geometry.coordinates as number[][][];
  if (geometry.type === 'MultiPolygon') return (geometry.coordinates as number[][][][]).flat();
  return [];
}

/** The compass direction from `from` to the closest point of the zone's outline, or undefined when the shape has none. */
export function directionToZone(from: LatLng, geometry: { type: string; coordinates: readonly unknown[] }): Compass | undefined {
  const cosLat = Math.cos(toRad(from.lat));
  const project = (point: readonly number[]) => ({ x: toRad((point[0] ?? 0) - from.lng) * cosLat * earthRadiusM, y: toRad((point[1] ?? 0) - from.lat) * earthRadiusM });
  let best: { x: number; y: number; distance: number } | undefined;
  for (const ring of ringsOf(geometry)) {
    for (let index = 1; index < ring.length; index += 1) {
      const a = project(ring[index - 1] ?? []);
      const b = project(ring[index] ?? []);
      const dx = b.x - a.x;
      const dy = b.y - a.y;
      const lengthSquared = dx * dx + dy * dy;
      const t = lengthSquared === 0 ? 0 : Math.max(0, Math.min(1, -(a.x * dx + a.y * dy) / lengthSquared));
      const x = a.x + t * dx;
      const y = a.y + t * dy;
      const distance = Math.hypot(x, y);
      if (!best || distance < best.distance) best = { x, y, distance };
    }
  }
  // Within a metre it is here, not in a direction.
  if (!best || best.distance < 1) return undefined;
  // Bearing clockwise from north, in eighths of a turn.
  const bearing = (Math.atan2(best.x, best.y) * 180) / Math.PI;
  return compass[Math.round(((bearing + 360) % 360) / 45) % 8];
}
