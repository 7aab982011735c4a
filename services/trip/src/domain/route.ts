/**
 * A trip's minutes and distance, from its own record and the car's telemetry: never from the
 * client. Pure.
 */
export interface RoutePoint {
  /** When the car reported it (ms since the epoch). */
  at: number;
  lat: number;
  lng: number;
}

const earthRadiusM = 6_371_008.8;
const toRad = (degrees: number) => (degrees * Math.PI) / 180;

/** Great-circle distance in metres (haversine), accurate to well under a metre per km at city scale. */
export function haversineM(a: { lat: number; lng: number }, b: { lat: number; lng: number }): number {
  const dLat = toRad(b.lat - a.lat);
  const dLng = toRad(b.lng - a.lng);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(toRad(a.lat)) * Math.cos(toRad(b.lat)) * Math.sin(dLng / 2) ** 2;
  return 2 * earthRadiusM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * Metres along the reported points between `from` and `to`, in time order. Points outside the
 * window belong to another rider's use of the car and never count; a lone point is 0 m.
 */
export function routeDistanceM(points: readonly RoutePoint[], from: number, to: number): number {
  const inWindow = points.filter((point) => point.at >= from && point.at <= to).sort((a, b) => a.at - b.at);
  let total = 0;
  for (let index = 1; index < inWindow.length; index += 1) {
    const previous = inWindow[index - 1];
    const current = inWindow[index];
    if (previous && current) total += haversineM(previous, current);
  }
  return total;
}

export interface TripClock {
  startedAt: number;
  /** Parking time of the pauses already ended. */
  pausedMs: number;
  /** Start of the pause still running, if any. */
  pausedSince: number | undefined;
}

/** Driving and parking time of a trip up to `end`: a running pause counts as parking until `end`. */
export function tripTimes(trip: TripClock, end: number): { drivingMs: number; parkingMs: number } {
  const running = trip.pausedSince === undefined ? 0 : Math.max(0, end - trip.pausedSince);
  const parkingMs = trip.pausedMs + running;
  const drivingMs = Math.max(0, end - trip.startedAt - parkingMs);
  return { drivingMs, parkingMs };
}
