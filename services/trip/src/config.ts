import { berlinCentre, defaultCityOptions, offsetByMetres } from '@carshare/city';
import { DatabaseConfig, HttpConfig, LogConfig, MessagingConfig, TracingConfig } from '@carshare/platform';
import { loadServiceConfig, type ServiceConfigShape } from '@carshare/service-kit';
import { Type, type Static } from 'typebox';
import type { Tariff } from './domain/pricing.ts';
import type { Zone } from './domain/zones.ts';

const defaultPort = 4006;
const categories = ['small', 'compact', 'premium', 'van'] as const;
export type TripCarCategory = (typeof categories)[number];

const Cents = Type.Integer({ minimum: 0, maximum: 10_000_000 });

const PackageSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 40 }),
  durationMinutes: Type.Integer({ minimum: 1 }),
  priceCents: Cents,
  includedKm: Type.Number({ minimum: 0 }),
  extraPerKmCents: Cents,
});

/** One category's prices (domain/pricing.ts `Tariff` without the version and category it is filed under). */
const TariffEntrySchema = Type.Object({
  currency: Type.String({ minLength: 3, maxLength: 3 }),
  unlockFeeCents: Cents,
  drivingPerMinuteCents: Cents,
  parkingPerMinuteCents: Cents,
  perKmCents: Cents,
  packages: Type.Array(PackageSchema),
  vatRate: Type.Number({ minimum: 0, maximum: 1 }),
});

const packages = (hourCents: number, dayCents: number) => [
  { name: 'hour', durationMinutes: 60, priceCents: hourCents, includedKm: 50, extraPerKmCents: 29 },
  { name: 'day', durationMinutes: 24 * 60, priceCents: dayCents, includedKm: 200, extraPerKmCents: 29 },
];

const defaultTariffs = {
  version: '2026-12-01',
  byCategory: {
    small: { currency: 'EUR', unlockFeeCents: 99, drivingPerMinuteCents: 29, parkingPerMinuteCents: 9, perKmCents: 0, packages: packages(1_299, 4_999), vatRate: 0.19 },
    compact: { currency: 'EUR', unlockFeeCents: 99, drivingPerMinuteCents: 35, parkingPerMinuteCents: 12, perKmCents: 0, packages: packages(1_599, 5_999), vatRate: 0.19 },
    premium: { currency: 'EUR', unlockFeeCents: 199, drivingPerMinuteCents: 49, parkingPerMinuteCents: 19, perKmCents: 0, packages: packages(2_499, 8_999), vatRate: 0.19 },
    van: { currency: 'EUR', unlockFeeCents: 199, drivingPerMinuteCents: 45, parkingPerMinuteCents: 15, perKmCents: 19, packages: packages(2_199, 7_999), vatRate: 0.19 },
  },
};

const TariffTableSchema = Type.Object(
  {
    /** Change it with every edit of the table: a trip records the version it started with. */
    version: Type.String({ minLength: 1, maxLength: 40 }),
    byCategory: Type.Object({
      small: TariffEntrySchema,
      compact: TariffEntrySchema,
      premium: TariffEntrySchema,
      van: TariffEntrySchema,
    }),
  },
  { default: defaultTariffs },
);
export type TariffTable = Static<typeof TariffTableSchema>;

const Position = Type.Array(Type.Number(), { minItems: 2, maxItems: 3 });
const Ring = Type.Array(Position, { minItems: 4 });
const Geometry = Type.Union([
  Type.Object({ type: Type.Literal('Polygon'), coordinates: Type.Array(Ring, { minItems: 1 }) }),
  Type.Object({ type: Type.Literal('MultiPolygon'), coordinates: Type.Array(Type.Array(Ring, { minItems: 1 }), { minItems: 1 }) }),
]);

/** A GeoJSON Feature: the apps draw it as it is; `properties` say what kind of zone it is. */
const ZoneFeature = Type.Object({
  type: Type.Literal('Feature'),
  id: Type.String({ minLength: 1, maxLength: 64 }),
  properties: Type.Object({
    name: Type.String({ minLength: 1, maxLength: 100 }),
    kind: Type.Union([Type.Literal('home'), Type.Literal('dropoff'), Type.Literal('no_parking')]),
    feeCents: Type.Optional(Cents),
  }),
  geometry: Geometry,
});
export type ZoneFeature = Static<typeof ZoneFeature>;

/** A rectangle `widthM` × `heightM` around `centre`, closed ring, counter-clockwise. */
function rectangle(centre: { lat: number; lng: number }, widthM: number, heightM: number): number[][] {
  const corner = (east: number, north: number) => {
    const point = offsetByMetres(centre, east, north);
    return [point.lng, point.lat];
  };
  const [w, h] = [widthM / 2, heightM / 2];
  return [corner(-w, -h), corner(w, -h), corner(w, h), corner(-w, h), corner(-w, -h)];
}

// The simulator's city is `sizeKm` square around `berlinCentre`: the home zone covers it with a
// block to spare, so a simulated rider can end a trip anywhere in it. The drop-off zone stands in
// for an airport just east of it.
const citySizeM = defaultCityOptions.sizeKm * 1000;
const defaultZones: ZoneFeature[] = [
  {
    type: 'Feature',
    id: 'home-city',
    properties: { name: 'City', kind: 'home' },
    geometry: { type: 'Polygon', coordinates: [rectangle(berlinCentre, citySizeM + 400, citySizeM + 400)] },
  },
  {
    type: 'Feature',
    id: 'dropoff-airport',
    properties: { name: 'Airport', kind: 'dropoff', feeCents: 990 },
    geometry: { type: 'Polygon', coordinates: [rectangle(offsetByMetres(berlinCentre, citySizeM / 2 + 3_000, 0), 1_500, 1_000)] },
  },
];

export const TripConfigSchema = Type.Object({
  http: HttpConfig(defaultPort),
  database: DatabaseConfig,
  messaging: MessagingConfig,
  log: LogConfig,
  tracing: TracingConfig,
  /** Hot-reloadable (CARSHARE_CONFIG file): new trips take the new table, running ones keep theirs. */
  tariffs: TariffTableSchema,
  /** Hot-reloadable: where trips may end; served to the apps as GeoJSON. */
  zones: Type.Array(ZoneFeature, { default: defaultZones }),
  reservations: Type.Object({
    /** How long a reservation holds a car for free. */
    holdMinutes: Type.Integer({ minimum: 1, maximum: 120, default: 15 }),
    /** One extension per reservation moves its expiry by this much, for the fee below. */
    extensionMinutes: Type.Integer({ minimum: 1, maximum: 120, default: 10 }),
    extensionFeeCents: Type.Integer({ minimum: 0, maximum: 100_000, default: 100 }),
    /** How often the sweeper looks for expired reservations. */
    sweepIntervalMs: Type.Integer({ minimum: 100, default: 5_000 }),
  }),
  /** Authorised at trip start, captured (less, equal or more) at the end. */
  deposits: Type.Object({
    small: Type.Integer({ minimum: 0, default: 5_000 }),
    compact: Type.Integer({ minimum: 0, default: 5_000 }),
    premium: Type.Integer({ minimum: 0, default: 10_000 }),
    van: Type.Integer({ minimum: 0, default: 7_500 }),
  }),
  lowEnergy: Type.Object({
    /** Ending a trip with battery or fuel below this percentage adds the fee. */
    thresholdPct: Type.Number({ minimum: 0, maximum: 100, default: 10 }),
    feeCents: Type.Integer({ minimum: 0, default: 1_000 }),
  }),
  sagas: Type.Object({
    /**
     * How long an instance's claim on a saga lasts without renewal: after a crash, another
     * instance (or the restarted one) takes the saga over this long after the last renewal. Short
     * leases make drills fast and cost a renewal write every third of it per running saga.
     */
    leaseMs: Type.Integer({ minimum: 1_000, maximum: 300_000, default: 15_000 }),
  }),
});

export type TripConfig = Static<typeof TripConfigSchema>;

/** How the trip service's config is read: TRIP_HOST, TRIP_PORT, TRIP_RESERVATION_HOLD_MINUTES, and the common variables. */
export const tripConfigShape = {
  envPrefix: 'TRIP',
  defaultPort,
  configSchema: TripConfigSchema,
  envMap: {
    TRIP_RESERVATION_HOLD_MINUTES: 'reservations.holdMinutes',
    TRIP_SAGA_LEASE_MS: 'sagas.leaseMs',
  },
} as const satisfies ServiceConfigShape<typeof TripConfigSchema>;

export function loadTripConfig(overrides: Record<string, unknown> = {}): TripConfig {
  return loadServiceConfig(tripConfigShape, overrides);
}

export const tripCarCategories = categories;

/** The tariff a trip starts with: the table's current version for the car's category. */
export function tariffFor(table: TariffTable, category: TripCarCategory): Tariff {
  return { ...table.byCategory[category], version: table.version, category };
}

/** Config's GeoJSON features as the domain's zones (checkTripEnd). */
export function zonesFromConfig(features: readonly ZoneFeature[]): Zone[] {
  return features.map((feature) => ({
    id: feature.id,
    name: feature.properties.name,
    kind: feature.properties.kind,
    feeCents: feature.properties.feeCents,
    geometry: feature.geometry,
  }));
}
