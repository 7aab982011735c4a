import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import { defaultGbfsSystem, GbfsSystemConfig, gbfsDiscovery, gbfsSystemInformation, gbfsVehicleStatus, gbfsVehicleTypes, gbfsVersion, rotatingVehicleId } from './gbfs-handlers.ts';

// GBFS 3.1 (MobilityData, gbfs-json-schema v3.1-RC2, Apache-2.0): the rules of the four files we
// publish, written out here from the specification's JSON schemas (required fields, types, ranges,
// enums, RFC 3339 times without fractions, BCP 47 languages) rather than vendored.
const rfc3339 = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(Z|[+-]\\d{2}:\\d{2})$' });
const localized = Type.Array(Type.Object({ text: Type.String(), language: Type.String({ pattern: '^[a-z]{2,3}(-[A-Z]{2})?$' }) }), { minItems: 1 });
const file = (data: TSchema) =>
  Type.Object({ last_updated: rfc3339, ttl: Type.Integer({ minimum: 0 }), version: Type.Literal(gbfsVersion), data });

const gbfsFile = file(
  Type.Object({
    feeds: Type.Array(
      Type.Object({
        name: Type.Union(
          ['gbfs', 'gbfs_versions', 'system_information', 'vehicle_types', 'station_information', 'station_status', 'vehicle_status', 'system_alerts', 'system_regions', 'system_pricing_plans', 'geofencing_zones'].map((name) => Type.Literal(name)),
        ),
        url: Type.String({ pattern: '^https?://' }),
      }),
    ),
  }),
);
const systemInformation = file(
  Type.Object({
    system_id: Type.String(),
    languages: Type.Array(Type.String({ pattern: '^[a-z]{2,3}(-[A-Z]{2})?$' })),
    name: localized,
    opening_hours: Type.String(),
    feed_contact_email: Type.String({ pattern: '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$' }),
    timezone: Type.String({ pattern: '^[A-Z][A-Za-z_]+/[A-Za-z_/-]+$' }),
  }),
);
const vehicleTypes = file(
  Type.Object({
    vehicle_types: Type.Array(
      Type.Object({
        vehicle_type_id: Type.String(),
        form_factor: Type.Union(['bicycle', 'cargo_bicycle', 'car', 'moped', 'scooter_standing', 'scooter_seated', 'other'].map((value) => Type.Literal(value))),
        propulsion_type: Type.Union(
          ['human', 'electric_assist', 'electric', 'combustion', 'combustion_diesel', 'hybrid', 'plug_in_hybrid', 'hydrogen_fuel_cell'].map((value) => Type.Literal(value)),
        ),
        // Required for every motorised propulsion type.
        max_range_meters: Type.Number({ minimum: 0 }),
        rider_capacity: Type.Optional(Type.Integer({ minimum: 0 })),
        name: Type.Optional(localized),
        return_constraint: Type.Optional(Type.Union(['free_floating', 'roundtrip_station', 'any_station', 'hybrid'].map((value) => Type.Literal(value)))),
      }),
    ),
  }),
);
const vehicleStatus = file(
  Type.Object({
    vehicles: Type.Array(
      Type.Object(
        {
          vehicle_id: Type.String(),
          lat: Type.Number({ minimum: -90, maximum: 90 }),
          lon: Type.Number({ minimum: -180, maximum: 180 }),
          is_reserved: Type.Boolean(),
          is_disabled: Type.Boolean(),
          vehicle_type_id: Type.String(),
          last_reported: Type.Optional(rfc3339),
          current_range_meters: Type.Number({ minimum: 0 }),
          current_fuel_percent: Type.Number({ minimum: 0, maximum: 1 }),
        },
        // Nothing about riders, reservations or the car's own id may leak into the open feed.
        { additionalProperties: false },
      ),
    ),
  }),
);

function assertValid(schema: TSchema, value: unknown): void {
  const check = Compile(schema);
  assert.ok(check.Check(value), JSON.stringify([...check.Errors(value)].slice(0, 3)));
}

const now = Date.parse('2026-03-01T08:00:00.123Z');
const cars = [
  { id: '0190a4c2-0000-7000-8000-000000000001', category: 'compact' as const, fuelType: 'electric' as const, seats: 5, position: { lat: 52.52, lng: 13.4 }, energyPct: 81.4, lastSeenAt: '2026-03-01T07:59:58.500Z', version: 3 },
  { id: '0190a4c2-0000-7000-8000-000000000002', category: 'van' as const, fuelType: 'diesel' as const, seats: 9, position: { lat: 52.5, lng: 13.3 }, energyPct: 40, lastSeenAt: null, version: 0 },
];

describe('GBFS 3.1 feed', () => {
  it('publishes a discovery file listing its feeds at absolute URLs', () => {
    const feed = gbfsDiscovery('http://localhost:8080', now);
    assertValid(gbfsFile, feed);
    assert.deepEqual(feed.data.feeds.map((entry) => entry.name), ['gbfs', 'system_information', 'vehicle_types', 'vehicle_status']);
    assert.equal(feed.last_updated, '2026-03-01T08:00:00Z');
  });

  it('describes the system, the vehicle types and the available vehicles as GBFS requires', () => {
    assertValid(systemInformation, gbfsSystemInformation(defaultGbfsSystem, now));
    const types = gbfsVehicleTypes(cars, now);
    assertValid(vehicleTypes, types);
    assert.deepEqual(types.data.vehicle_types.map((type) => [type.vehicle_type_id, type.propulsion_type]), [['compact-electric-5', 'electric'], ['van-diesel-9', 'combustion_diesel']]);
    const status = gbfsVehicleStatus(cars, now);
    assertValid(vehicleStatus, status);
    assert.deepEqual(status.data.vehicles[0], {
      vehicle_id: rotatingVehicleId(cars[0]!),
      lat: 52.52,
      lon: 13.4,
      is_reserved: false,
      is_disabled: false,
      vehicle_type_id: 'compact-electric-5',
      last_reported: '2026-03-01T07:59:58Z',
      current_fuel_percent: 0.81,
      current_range_meters: 284_900,
    });
  });

  it('never shows the car id, and gives a car a new vehicle id after each rental', () => {
    const text = JSON.stringify(gbfsVehicleStatus(cars, now));
    for (const car of cars) assert.ok(!text.includes(car.id));
    assert.notEqual(rotatingVehicleId(cars[0]!), rotatingVehicleId({ ...cars[0]!, version: 4 }));
  });

  it('says who runs the system from the gateway config, not from the code', () => {
    const configured = Value.Parse(GbfsSystemConfig, {
      systemId: 'stadtauto-leipzig',
      name: 'Stadtauto Leipzig',
      operator: 'Stadtauto GmbH',
      timezone: 'America/Argentina/Buenos_Aires',
      language: 'de',
      feedContactEmail: 'open-data@stadtauto.example',
      openingHours: 'Mo-Fr 06:00-22:00',
      url: 'https://stadtauto.example',
      phoneNumber: '+493412345678',
      privacyUrl: 'https://stadtauto.example/privacy',
    });
    const information = gbfsSystemInformation(configured, now);
    assertValid(systemInformation, information);
    assert.deepEqual(information.data, {
      system_id: 'stadtauto-leipzig',
      languages: ['de'],
      name: [{ text: 'Stadtauto Leipzig', language: 'de' }],
      operator: [{ text: 'Stadtauto GmbH', language: 'de' }],
      opening_hours: 'Mo-Fr 06:00-22:00',
      feed_contact_email: 'open-data@stadtauto.example',
      timezone: 'America/Argentina/Buenos_Aires',
      url: 'https://stadtauto.example',
      phone_number: '+493412345678',
      privacy_url: 'https://stadtauto.example/privacy',
    });
    assert.deepEqual(gbfsVehicleTypes(cars, now, configured.language).data.vehicle_types[0]?.name?.[0]?.language, 'de');
    // The schema's defaults and the code's are one description of the demo city.
    assert.deepEqual(Value.Default(GbfsSystemConfig, {}), defaultGbfsSystem);
  });

  it('refuses a system description GBFS consumers could not use', () => {
    for (const broken of [{ timezone: 'CET+1' }, { feedContactEmail: 'nobody' }, { language: 'English' }, { systemId: 'has spaces' }, { phoneNumber: '0341 234' }]) {
      assert.equal(Value.Check(GbfsSystemConfig, { ...defaultGbfsSystem, ...broken }), false, JSON.stringify(broken));
    }
  });
});
