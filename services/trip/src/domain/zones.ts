import { booleanPointInPolygon } from '@turf/boolean-point-in-polygon';
import type { MultiPolygon, Polygon, Position } from 'geojson';

/**
 * Operating areas (DOMAIN.md): a trip may end inside a home zone, or inside a drop-off zone for a
 * fee; never inside a no-parking zone, even where it overlaps a home zone. Pure: the zones come
 * from config, the point from the car's last report.
 */
export type ZoneKind = 'home' | 'dropoff' | 'no_parking';

export interface Zone {
  id: string;
  name: string;
  kind: ZoneKind;
  /** Drop-off zones only: charged when a trip ends there. */
  feeCents?: number | undefined;
  geometry: Polygon | MultiPolygon;
}

export interface GeoPoint {
  lat: number;
  lng: number;
}

export type EndCheck =
  | { allowed: true; zone: Zone; feeCents: number }
  | { allowed: false; reason: 'OUTSIDE_OPERATING_AREA' | 'NO_PARKING_ZONE'; nearest: { zone: Zone; distanceM: number } | undefined };

function contains(zone: Zone, point: GeoPoint): boolean {
  // Boundary counts as inside: a car parked on the line is in the zone.
  return booleanPointInPolygon([point.lng, point.lat], zone.geometry);
}

const earthRadiusM = 6_371_008.8;
const toRad = (degrees: number) => (degrees * Math.PI) / 180;

/**
 * Metres from a point to a segment, on a local equirectangular projection around the point:
 * exact enough for "the nearest zone is 240 m north" inside one city.
 */
function distanceToSegmentM(point: GeoPoint, a: Position, b: Position): number {
  const cosLat = Math.cos(toRad(point.lat));
  const project = (lng: number, lat: number) => ({ x: toRad(lng - point.lng) * cosLat * earthRadiusM, y: toRad(lat - point.lat) * earthRadiusM });
  const p = project(a[0] ?? 0, a[1] ?? 0);
  const q = project(b[0] ?? 0, b[1] ?? 0);
  const dx = q.x - p.x;
  const dy = q.y - p.y;
  const lengthSquared = dx * dx + dy * dy;
  const t = lengthSquared === 0 ? 0 : Math.max(0, Math.min(1, -(p.x * dx + p.y * dy) / lengthSquared));
  return Math.hypot(p.x + t * dx, p.y + t * dy);
}

function rings(geometry: Polygon | MultiPolygon): Position[][] {
  return geometry.type === 'Polygon' ? geometry.coordinates : geometry.coordinates.flat();
}

/** 0 inside; otherwise the distance to the zone's nearest edge. */
export function distanceToZoneM(zone: Zone, point: GeoPoint): number {
  if (contains(zone, point)) return 0;
  let nearest = Number.POSITIVE_INFINITY;
  for (const ring of rings(zone.geometry)) {
    for (let index = 1; index < ring.length; index += 1) {
      const a = ring[index - 1];
      const b = ring[index];
      if (a && b) nearest = Math.min(nearest, distanceToSegmentM(point, a, b));
    }
  }
  return nearest;
}

/** Where a rider could end instead: the closest home or drop-off zone. */
export function nearestAllowedZone(zones: readonly Zone[], point: GeoPoint): { zone: Zone; distanceM: number } | undefined {
  let best: { zone: Zone; distanceM: number } | undefined;
  for (const zone of zones) {
    if (zone.kind === 'no_parking') continue;
    const distanceM = distanceToZoneM(zone, point);
    if (!best || distanceM < best.distanceM) best = { zone, distanceM };
  }
  return best;
}

/**
 * May a trip end here, and at what fee? A home zone is free and wins over a drop-off zone it
 * overlaps; the cheapest drop-off zone applies when several overlap.
 */
export function checkTripEnd(zones: readonly Zone[], point: GeoPoint): EndCheck {
  if (zones.some((zone) => zone.kind === 'no_parking' && contains(zone, point))) {
    return { allowed: false, reason: 'NO_PARKING_ZONE', nearest: nearestAllowedZone(zones, point) };
  }
  const home = zones.find((zone) => zone.kind === 'home' && contains(zone, point));
  if (home) return { allowed: true, zone: home, feeCents: 0 };
  const dropoffs = zones.filter((zone) => zone.kind === 'dropoff' && contains(zone, point)).sort((a, b) => (a.feeCents ?? 0) - (b.feeCents ?? 0));
  const dropoff = dropoffs[0];
  if (dropoff) return { allowed: true, zone: dropoff, feeCents: dropoff.feeCents ?? 0 };
  return { allowed: false, reason: 'OUTSIDE_OPERATING_AREA', nearest: nearestAllowedZone(zones, point) };
}
