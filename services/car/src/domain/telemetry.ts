/**
 * Rules a device's report must pass before anything of it is stored. Pure: the caller passes the
 * time and what it last accepted from this car. Devices are untrusted input: a broken GPS, a
 * replayed packet or a hostile box must be refused with a reason that can be counted, never
 * stored and never crash the service.
 */

export interface TelemetryPoint {
  ts: number;
  lat: number;
  lng: number;
  speedKph: number;
  headingDeg: number;
  odometerKm: number;
  energyPct: number;
  locked: boolean;
}

export const telemetryRejections = [
  'payload_too_large',
  'malformed',
  'not_finite',
  'implausible_position',
  'implausible_speed',
  'implausible_heading',
  'energy_out_of_range',
  'implausible_odometer',
  'odometer_went_back',
  'timestamp_in_future',
  'timestamp_too_old',
  'out_of_order',
  'rate_limited',
  'unknown_car',
  'bad_credential',
] as const;
export type TelemetryRejection = (typeof telemetryRejections)[number];

export interface TelemetryRules {
  /** How far ahead of our clock a device's timestamp may be (device clocks drift). */
  maxFutureSkewMs: number;
  /** Reports older than this are history, not a position: a device replaying its buffer after days. */
  maxAgeMs: number;
}

export type TelemetryVerdict = { ok: true; point: TelemetryPoint } | { ok: false; reason: TelemetryRejection };

const numericFields = ['ts', 'lat', 'lng', 'speedKph', 'headingDeg', 'odometerKm', 'energyPct'] as const;
const knownFields = new Set<string>(['v', ...numericFields, 'locked']);

const reject = (reason: TelemetryRejection): TelemetryVerdict => ({ ok: false, reason });

/**
 * Checks a parsed report (protocol v1, see contracts/src/device/telematics.ts) against the rules
 * and against the last point accepted from the same car.
 */
export function judgeTelemetry(
  report: unknown,
  previous: Pick<TelemetryPoint, 'ts' | 'odometerKm'> | undefined,
  now: number,
  rules: TelemetryRules,
): TelemetryVerdict {
  if (typeof report !== 'object' || report === null || Array.isArray(report)) return reject('malformed');
  const fields = report as Record<string, unknown>;
  if (fields['v'] !== 1 || typeof fields['locked'] !== 'boolean') return reject('malformed');
  for (const key of Object.keys(fields)) if (!knownFields.has(key)) return reject('malformed');
  for (const field of numericFields) {
    const value = fields[field];
    if (typeof value !== 'number') return reject('malformed');
    // JSON cannot carry NaN, but 1e999 parses to Infinity, and in-process callers can pass anything.
    if (!Number.isFinite(value)) return reject('not_finite');
  }
  const point = {
    ts: fields['ts'] as number,
    lat: fields['lat'] as number,
    lng: fields['lng'] as number,
    speedKph: fields['speedKph'] as number,
    headingDeg: fields['headingDeg'] as number,
    odometerKm: fields['odometerKm'] as number,
    energyPct: fields['energyPct'] as number,
    locked: fields['locked'],
  };
  if (!Number.isInteger(point.ts) || point.ts < 0) return reject('malformed');
  // (0, 0) is in the Gulf of Guinea: what a GPS without a fix reports, not where a car is.
  if (Math.abs(point.lat) > 90 || Math.abs(point.lng) > 180 || (point.lat === 0 && point.lng === 0)) return reject('implausible_position');
  if (point.speedKph < 0 || point.speedKph > 400) return reject('implausible_speed');
  if (point.headingDeg < 0 || point.headingDeg > 360) return reject('implausible_heading');
  if (point.energyPct < 0 || point.energyPct > 100) return reject('energy_out_of_range');
  if (point.odometerKm < 0 || point.odometerKm > 10_000_000) return reject('implausible_odometer');
  if (point.ts > now + rules.maxFutureSkewMs) return reject('timestamp_in_future');
  if (point.ts < now - rules.maxAgeMs) return reject('timestamp_too_old');
  if (previous) {
    // A duplicate or a packet overtaken by a newer one says nothing new about where the car is.
    if (point.ts <= previous.ts) return reject('out_of_order');
    if (point.odometerKm < previous.odometerKm) return reject('odometer_went_back');
  }
  return { ok: true, point };
}
