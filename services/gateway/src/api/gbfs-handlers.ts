import { createHash } from 'node:crypto';
import type { AvailableCar, carRpc } from '@carshare/contracts';
import type { CallContext, HttpServer, RpcClient } from '@carshare/platform';
import type { FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';

/**
 * GBFS 3.1 (General Bikeshare Feed Specification, which covers car sharing since 2.3): the open
 * feed journey planners read. Only available cars, never who drives or reserved one; vehicle ids
 * rotate with every rental (GBFS requires it, so a car cannot be followed from trip to trip).
 */
export const gbfsVersion = '3.1-RC2';

/** Seconds a consumer may cache each file. */
const ttlSeconds = { gbfs: 300, system_information: 3600, vehicle_types: 3600, vehicle_status: 30, geofencing_zones: 60 } as const;

type GbfsCar = Static<typeof AvailableCar>;

/**
 * Who runs this system, as GBFS's system_information says it: the gateway's `gbfs` config section
 * (each deployment is its own operator, city and timezone). The defaults describe the demo city.
 */
export const GbfsSystemConfig = Type.Object({
  /** Stable for the life of the system: planners key their data on it. */
  systemId: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9._-]+$', default: 'carshare' }),
  name: Type.String({ minLength: 1, maxLength: 200, default: 'carshare' }),
  operator: Type.String({ minLength: 1, maxLength: 200, default: 'carshare' }),
  /** IANA name; vehicle times and opening hours are read in it. */
  timezone: Type.String({ pattern: '^[A-Z][A-Za-z_]+(/[A-Za-z0-9_+-]+)+$', default: 'Europe/Berlin' }),
  /** IETF language tag of every localised text in the feed. */
  language: Type.String({ pattern: '^[a-z]{2,3}(-[A-Z]{2})?$', default: 'en' }),
  /** Where data consumers report problems with the feed (required by GBFS). */
  feedContactEmail: Type.String({ format: 'email', maxLength: 254, default: 'gbfs@carshare.example' }),
  /** OSM opening_hours syntax. */
  openingHours: Type.String({ minLength: 1, maxLength: 500, default: '24/7' }),
  url: Type.Optional(Type.String({ format: 'uri', maxLength: 2_048 })),
  email: Type.Optional(Type.String({ format: 'email', maxLength: 254 })),
  phoneNumber: Type.Optional(Type.String({ pattern: '^\\+[1-9][0-9]{4,14}$' })),
  termsUrl: Type.Optional(Type.String({ format: 'uri', maxLength: 2_048 })),
  privacyUrl: Type.Optional(Type.String({ format: 'uri', maxLength: 2_048 })),
});
export type GbfsSystem = Static<typeof GbfsSystemConfig>;

/** The demo city's values, for callers without a config (tests, tools). */
export const defaultGbfsSystem: GbfsSystem = {
  systemId: 'carshare',
  name: 'carshare',
  operator: 'carshare',
  timezone: 'Europe/Berlin',
  language: 'en',
  feedContactEmail: 'gbfs@carshare.example',
  openingHours: '24/7',
};

const propulsionOf = { electric: 'electric', petrol: 'combustion', diesel: 'combustion_diesel', hybrid: 'hybrid' } as const;
/** Nominal range on a full battery or tank, by fuel: GBFS asks for it with any motor. */
const maxRangeMetres = { electric: 350_000, petrol: 650_000, diesel: 800_000, hybrid: 700_000 } as const;

function text(value: string, language: string) {
  return [{ text: value, language }];
}

function vehicleTypeId(car: Pick<GbfsCar, 'category' | 'fuelType' | 'seats'>): string {
  return `${car.category}-${car.fuelType}-${car.seats}`;
}

/** Changes whenever the car's version does (every claim, release, lock): a new id after each rental. */
export function rotatingVehicleId(car: Pick<GbfsCar, 'id' | 'version'>): string {
  return createHash('sha256').update(`${car.id}:${car.version}`).digest('base64url').slice(0, 22);
}

function envelope<Data>(file: keyof typeof ttlSeconds, now: number, data: Data) {
  return { last_updated: new Date(Math.floor(now / 1000) * 1000).toISOString().replace('.000Z', 'Z'), ttl: ttlSeconds[file], version: gbfsVersion, data };
}

/** Where the trip service's zones are served (registered with the trip routes, when trip is composed). */
export const geofencingZonesPath = '/gbfs/geofencing_zones.json';

export function gbfsDiscovery(baseUrl: string, now: number, options: { geofencing?: boolean } = {}) {
  const names = ['system_information', 'vehicle_types', 'vehicle_status', ...(options.geofencing ? (['geofencing_zones'] as const) : [])] as const;
  const feeds = names.map((name) => ({ name, url: `${baseUrl}/gbfs/${name}.json` }));
  return envelope('gbfs', now, { feeds: [{ name: 'gbfs' as const, url: `${baseUrl}/gbfs/gbfs.json` }, ...feeds] });
}

/** An operating area as the trip service serves it (GET /v1/zones). */
export interface ZoneFeatureLike {
  id: string;
  properties: { name: string; kind: string; feeCents?: number | undefined };
  geometry: { type: string; coordinates: unknown[] };
}

/**
 * GBFS `geofencing_zones` from the operating areas. A trip may end in home and drop-off zones,
 * never in a no-parking zone, and nowhere outside them (`global_rules`); riding through is always
 * allowed. GBFS applies the first listed zone where zones overlap, so no-parking zones go first,
 * as the trip service judges them first. Geometry is always a MultiPolygon in GBFS.
 */
export function gbfsGeofencingZones(zones: readonly ZoneFeatureLike[], now: number, language = defaultGbfsSystem.language) {
  const rank = (kind: string) => (kind === 'no_parking' ? 0 : kind === 'home' ? 1 : 2);
  const features = [...zones]
    .sort((a, b) => rank(a.properties.kind) - rank(b.properties.kind))
    .map((zone) => ({
      type: 'Feature' as const,
      geometry: zone.geometry.type === 'MultiPolygon' ? zone.geometry : { type: 'MultiPolygon', coordinates: [zone.geometry.coordinates] },
      properties: {
        name: text(zone.properties.name, language),
        rules: [{ ride_start_allowed: zone.properties.kind !== 'no_parking', ride_end_allowed: zone.properties.kind !== 'no_parking', ride_through_allowed: true }],
      },
    }));
  return envelope('geofencing_zones', now, {
    geofencing_zones: { type: 'FeatureCollection' as const, features },
    global_rules: [{ ride_start_allowed: false, ride_end_allowed: false, ride_through_allowed: true }],
  });
}

export function gbfsSystemInformation(system: GbfsSystem, now: number) {
  return envelope('system_information', now, {
    system_id: system.systemId,
    languages: [system.language],
    name: text(system.name, system.language),
    operator: text(system.operator, system.language),
    opening_hours: system.openingHours,
    feed_contact_email: system.feedContactEmail,
    timezone: system.timezone,
    ...(system.url !== undefined && { url: system.url }),
    ...(system.email !== undefined && { email: system.email }),
    ...(system.phoneNumber !== undefined && { phone_number: system.phoneNumber }),
    ...(system.termsUrl !== undefined && { terms_url: system.termsUrl }),
    ...(system.privacyUrl !== undefined && { privacy_url: system.privacyUrl }),
  });
}

export function gbfsVehicleTypes(cars: readonly GbfsCar[], now: number, language = defaultGbfsSystem.language) {
  const types = new Map<string, GbfsCar>();
  for (const car of cars) types.set(vehicleTypeId(car), car);
  return envelope('vehicle_types', now, {
    vehicle_types: [...types.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([id, car]) => ({
        vehicle_type_id: id,
        form_factor: 'car' as const,
        propulsion_type: propulsionOf[car.fuelType],
        rider_capacity: car.seats,
        max_range_meters: maxRangeMetres[car.fuelType],
        name: text(`${car.category} ${car.fuelType} car, ${car.seats} seats`, language),
        return_constraint: 'free_floating' as const,
      })),
  });
}

export function gbfsVehicleStatus(cars: readonly GbfsCar[], now: number) {
  return envelope('vehicle_status', now, {
    vehicles: cars.map((car) => ({
      vehicle_id: rotatingVehicleId(car),
      lat: car.position.lat,
      lon: car.position.lng,
      is_reserved: false,
      is_disabled: false,
      vehicle_type_id: vehicleTypeId(car),
      ...(car.lastSeenAt !== null && { last_reported: car.lastSeenAt.replace(/\.\d{3}Z$/, 'Z') }),
      current_fuel_percent: Math.round(car.energyPct) / 100,
      current_range_meters: Math.round((maxRangeMetres[car.fuelType] * car.energyPct) / 100),
    })),
  });
}

/** Every available car, page by page (bounded: a fleet larger than this is a feed per region). */
async function availableCars(car: RpcClient<typeof carRpc.methods>, ctx: CallContext): Promise<GbfsCar[]> {
  const cars: GbfsCar[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 50; page += 1) {
    const answer = await car.AvailableCars({ limit: 1000, ...(cursor !== undefined && { cursor }) }, ctx);
    cars.push(...answer.items);
    if (answer.nextCursor === null) break;
    cursor = answer.nextCursor;
  }
  return cars;
}

function baseUrlOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

/** `/gbfs/*.json`: public, cacheable, no account needed (that is the point of open data). */
export function registerGbfsRoutes(app: HttpServer, car: RpcClient<typeof carRpc.methods>, system: GbfsSystem = defaultGbfsSystem): void {
  const cache = (seconds: number) => `public, max-age=${seconds}`;
  app.get('/gbfs/gbfs.json', { schema: { summary: 'GBFS discovery: the feeds of this system', tags: ['gbfs'] } }, async (request, reply) => {
    void reply.header('cache-control', cache(ttlSeconds.gbfs));
    // Listed only where the trip service is composed and the gateway serves its zones.
    return gbfsDiscovery(baseUrlOf(request), Date.now(), { geofencing: app.hasRoute({ method: 'GET', url: geofencingZonesPath }) });
  });
  app.get('/gbfs/system_information.json', { schema: { summary: 'GBFS system information', tags: ['gbfs'] } }, async (_request, reply) => {
    void reply.header('cache-control', cache(ttlSeconds.system_information));
    return gbfsSystemInformation(system, Date.now());
  });
  app.get('/gbfs/vehicle_types.json', { schema: { summary: 'GBFS vehicle types of the available cars', tags: ['gbfs'] } }, async (request, reply) => {
    void reply.header('cache-control', cache(ttlSeconds.vehicle_types));
    return gbfsVehicleTypes(await availableCars(car, request.ctx), Date.now(), system.language);
  });
  app.get('/gbfs/vehicle_status.json', { schema: { summary: 'GBFS status of the available cars (rotating ids, no rider data)', tags: ['gbfs'] } }, async (request, reply) => {
    void reply.header('cache-control', cache(ttlSeconds.vehicle_status));
    return gbfsVehicleStatus(await availableCars(car, request.ctx), Date.now());
  });
}
