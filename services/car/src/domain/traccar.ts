/**
 * Traccar's JSON position forwarding (`forward.type = json`): one POST per position, the body
 * `{ "position": {...}, "device": {...} }` with Traccar's own units: speed in knots, course in
 * degrees, distances in metres, times as ISO strings. Traccar decodes hundreds of tracker
 * protocols; this maps its output to our device protocol so those trackers work with carshare.
 * The car is found by `device.uniqueId` (the tracker's IMEI or id), kept on the car as `trackerId`.
 */

const knotsToKph = 1.852;

export type TraccarMapping =
  | { ok: true; uniqueId: string; report: Record<string, unknown> }
  | { ok: false; reason: 'malformed' };

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}

/**
 * `fallback` fills what a tracker may not report (lock state, energy, odometer) from the car as
 * it is. Numbers are passed through unchecked: the telemetry rules judge them like any report.
 */
export function mapTraccarPosition(
  forwarded: unknown,
  fallback: { locked: boolean; energyPct: number; odometerKm: number },
): TraccarMapping {
  if (typeof forwarded !== 'object' || forwarded === null) return { ok: false, reason: 'malformed' };
  const { position, device } = forwarded as { position?: unknown; device?: unknown };
  if (typeof position !== 'object' || position === null || typeof device !== 'object' || device === null) return { ok: false, reason: 'malformed' };
  const uniqueId = (device as { uniqueId?: unknown }).uniqueId;
  const fields = position as Record<string, unknown>;
  const attributes = (typeof fields['attributes'] === 'object' && fields['attributes'] !== null ? fields['attributes'] : {}) as Record<string, unknown>;
  const time = typeof fields['fixTime'] === 'string' ? Date.parse(fields['fixTime']) : Number.NaN;
  if (typeof uniqueId !== 'string' || uniqueId.length === 0 || uniqueId.length > 64 || Number.isNaN(time)) return { ok: false, reason: 'malformed' };
  // Odometer: the device's own if it reports one, else Traccar's computed total distance (metres).
  const odometerM = typeof attributes['odometer'] === 'number' ? attributes['odometer'] : attributes['totalDistance'];
  const energy = typeof attributes['batteryLevel'] === 'number' ? attributes['batteryLevel'] : attributes['fuel'];
  const blocked = attributes['blocked'];
  return {
    ok: true,
    uniqueId,
    report: {
      v: 1,
      ts: time,
      lat: fields['latitude'],
      lng: fields['longitude'],
      speedKph: typeof fields['speed'] === 'number' ? fields['speed'] * knotsToKph : fields['speed'],
      headingDeg: numberOr(fields['course'], 0),
      odometerKm: typeof odometerM === 'number' ? odometerM / 1000 : fallback.odometerKm,
      energyPct: numberOr(energy, fallback.energyPct),
      locked: typeof blocked === 'boolean' ? blocked : fallback.locked,
    },
  };
}
