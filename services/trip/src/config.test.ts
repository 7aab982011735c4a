import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { berlinCentre, offsetByMetres } from '@carshare/city';
import { checkTripEnd } from './domain/zones.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServiceConfig } from '@carshare/service-kit';
import { loadTripConfig, tariffFor, tripConfigShape, zonesFromConfig } from './config.ts';
import { settingsOf } from './module.ts';
import { zonesVersion } from './trip-queries.ts';

describe('trip config', () => {
  const config = loadTripConfig();

  it('leases a saga 15 s by default; TRIP_SAGA_LEASE_MS shortens it for drills, within bounds', () => {
    assert.equal(config.sagas.leaseMs, 15_000);
    assert.equal(loadServiceConfig(tripConfigShape, {}, { env: { TRIP_SAGA_LEASE_MS: '4000' }, configFile: undefined }).sagas.leaseMs, 4_000);
    assert.throws(() => loadTripConfig({ sagas: { leaseMs: 10 } }));
  });

  it('holds a car 15 minutes by default, and the env can change it', () => {
    assert.equal(config.reservations.holdMinutes, 15);
    assert.equal(loadTripConfig({ reservations: { holdMinutes: 20 } }).reservations.holdMinutes, 20);
  });

  it('has a tariff for every car category, carrying the table version', () => {
    for (const category of ['small', 'compact', 'premium', 'van'] as const) {
      const tariff = tariffFor(config.tariffs, category);
      assert.equal(tariff.category, category);
      assert.equal(tariff.version, config.tariffs.version);
      assert.ok(tariff.packages.length > 0);
    }
  });

  it('lets a trip end anywhere in the simulated city, at the airport for a fee, and not far outside', () => {
    const zones = zonesFromConfig(config.zones);
    const centre = checkTripEnd(zones, berlinCentre);
    assert.ok(centre.allowed && centre.zone.kind === 'home' && centre.feeCents === 0);
    const corner = checkTripEnd(zones, offsetByMetres(berlinCentre, 2_900, -2_900));
    assert.ok(corner.allowed, 'the city corner is inside the home zone');
    const airport = checkTripEnd(zones, offsetByMetres(berlinCentre, 6_000, 0));
    assert.ok(airport.allowed && airport.zone.kind === 'dropoff' && airport.feeCents === 990);
    const far = checkTripEnd(zones, offsetByMetres(berlinCentre, 0, 20_000));
    assert.equal(far.allowed, false);
  });

  it('rejects a zone that is not GeoJSON', () => {
    assert.throws(() => loadTripConfig({ zones: [{ type: 'Feature', id: 'x', properties: { name: 'x', kind: 'home' }, geometry: { type: 'Point', coordinates: [1, 2] } }] }));
  });

  it('reloads tariffs and zones from the CARSHARE_CONFIG file (what the module hands its LiveConfig on a change); a bad file is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trip-config-'));
    try {
      const file = join(dir, 'carshare.json');
      const square = [[[13.4, 52.5], [13.41, 52.5], [13.41, 52.51], [13.4, 52.51], [13.4, 52.5]]];
      const tariffs = { ...config.tariffs, version: '2027-01-01', byCategory: { ...config.tariffs.byCategory, small: { ...config.tariffs.byCategory.small, drivingPerMinuteCents: 31 } } };
      writeFileSync(file, JSON.stringify({ tariffs, zones: [{ type: 'Feature', id: 'home-small', properties: { name: 'Small', kind: 'home' }, geometry: { type: 'Polygon', coordinates: square } }] }));
      const reload = () => settingsOf(loadServiceConfig(tripConfigShape, {}, { env: {}, configFile: file }));
      const settings = reload();
      assert.equal(tariffFor(settings.tariffs, 'small').drivingPerMinuteCents, 31);
      assert.equal(tariffFor(settings.tariffs, 'small').version, '2027-01-01');
      assert.deepEqual(settings.zones.map((zone) => zone.id), ['home-small']);
      assert.notEqual(zonesVersion(settings.zones), zonesVersion(config.zones), 'the served zones say they changed');
      writeFileSync(file, JSON.stringify({ zones: [{ type: 'Feature', id: 'broken', properties: { name: 'x', kind: 'moon' }, geometry: { type: 'Polygon', coordinates: square } }] }));
      assert.throws(reload);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
