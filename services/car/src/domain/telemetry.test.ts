import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundingBox, haversineMetres, pathMetres } from './geo.ts';
import { judgeTelemetry, type TelemetryRules } from './telemetry.ts';

const now = Date.parse('2026-03-01T08:00:00Z');
const rules: TelemetryRules = { maxFutureSkewMs: 30_000, maxAgeMs: 3_600_000 };
const good = { v: 1, ts: now - 1000, lat: 52.52, lng: 13.405, speedKph: 42.5, headingDeg: 270, odometerKm: 12_345.6, energyPct: 81, locked: false };
const judge = (changes: Record<string, unknown>, previous?: { ts: number; odometerKm: number }) =>
  judgeTelemetry({ ...good, ...changes }, previous, now, rules);
const reasonOf = (verdict: ReturnType<typeof judgeTelemetry>) => (verdict.ok ? 'ok' : verdict.reason);

describe('telemetry rules', () => {
  it('accepts a plausible report and returns its point without the version', () => {
    const verdict = judge({});
    assert.deepEqual(verdict, { ok: true, point: { ts: good.ts, lat: 52.52, lng: 13.405, speedKph: 42.5, headingDeg: 270, odometerKm: 12_345.6, energyPct: 81, locked: false } });
  });

  it('accepts the edges of every range', () => {
    for (const changes of [{ lat: 90, lng: 180 }, { lat: -90, lng: -180 }, { energyPct: 0 }, { energyPct: 100 }, { speedKph: 0 }, { headingDeg: 360 }, { ts: now + 30_000 }, { ts: now - 3_600_000 }]) {
      assert.equal(reasonOf(judge(changes)), 'ok', JSON.stringify(changes));
    }
  });

  const cases: Array<[string, unknown, string]> = [
    ['not an object', 'hello', 'malformed'],
    ['null', null, 'malformed'],
    ['an array', [good], 'malformed'],
    ['another protocol version', { ...good, v: 2 }, 'malformed'],
    ['a missing field', { ...good, energyPct: undefined }, 'malformed'],
    ['an unknown field', { ...good, driverName: 'Ada' }, 'malformed'],
    ['a number as a string', { ...good, lat: '52.5' }, 'malformed'],
    ['a fractional timestamp', { ...good, ts: good.ts + 0.5 }, 'malformed'],
    ['NaN', { ...good, lat: Number.NaN }, 'not_finite'],
    ['Infinity (1e999 in JSON)', JSON.parse(JSON.stringify(good).replace('"speedKph":42.5', '"speedKph":1e999')), 'not_finite'],
    ['latitude beyond 90', { ...good, lat: 90.0001 }, 'implausible_position'],
    ['longitude beyond -180', { ...good, lng: -180.5 }, 'implausible_position'],
    ['null island (no GPS fix)', { ...good, lat: 0, lng: 0 }, 'implausible_position'],
    ['negative speed', { ...good, speedKph: -1 }, 'implausible_speed'],
    ['supersonic speed', { ...good, speedKph: 1200 }, 'implausible_speed'],
    ['heading beyond a turn', { ...good, headingDeg: 361 }, 'implausible_heading'],
    ['battery above 100', { ...good, energyPct: 100.1 }, 'energy_out_of_range'],
    ['battery below 0', { ...good, energyPct: -3 }, 'energy_out_of_range'],
    ['a negative odometer', { ...good, odometerKm: -1 }, 'implausible_odometer'],
    ['a timestamp beyond the skew', { ...good, ts: now + 30_001 }, 'timestamp_in_future'],
    ['a timestamp from last week', { ...good, ts: now - 7 * 86_400_000 }, 'timestamp_too_old'],
  ];
  for (const [what, report, reason] of cases) {
    it(`refuses ${what} as ${reason}`, () => assert.equal(reasonOf(judgeTelemetry(report, undefined, now, rules)), reason));
  }

  it('refuses an odometer that goes back, and a report not newer than the last one', () => {
    const previous = { ts: good.ts - 5000, odometerKm: 12_345.7 };
    assert.equal(reasonOf(judge({}, previous)), 'odometer_went_back');
    assert.equal(reasonOf(judge({ odometerKm: 12_345.7 }, previous)), 'ok');
    assert.equal(reasonOf(judge({ ts: previous.ts, odometerKm: 20_000 }, previous)), 'out_of_order');
    assert.equal(reasonOf(judge({ ts: previous.ts - 1, odometerKm: 20_000 }, previous)), 'out_of_order');
  });
});

describe('geo', () => {
  it('measures Berlin to Paris as about 878 km, and a point to itself as 0', () => {
    const berlin = { lat: 52.5200, lng: 13.4050 };
    const paris = { lat: 48.8566, lng: 2.3522 };
    assert.ok(Math.abs(haversineMetres(berlin, paris) - 877_500) < 2_000, String(haversineMetres(berlin, paris)));
    assert.equal(haversineMetres(berlin, berlin), 0);
  });

  it('adds up a path leg by leg', () => {
    const points = [{ lat: 0, lng: 10 }, { lat: 0, lng: 10.01 }, { lat: 0, lng: 10.02 }];
    assert.ok(Math.abs(pathMetres(points) - 2 * haversineMetres(points[0]!, points[1]!)) < 1e-6);
    assert.equal(pathMetres([]), 0);
  });

  it('makes a bounding box that holds every point of the radius, and all longitudes near a pole or the antimeridian', () => {
    const center = { lat: 52.52, lng: 13.405 };
    const box = boundingBox(center, 1000);
    for (let bearing = 0; bearing < 360; bearing += 15) {
      const rad = (bearing * Math.PI) / 180;
      // A point ~999 m away on this bearing (flat-earth step, fine at 1 km).
      const point = { lat: center.lat + (999 * Math.cos(rad)) / 111_195, lng: center.lng + (999 * Math.sin(rad)) / (111_195 * Math.cos((center.lat * Math.PI) / 180)) };
      assert.ok(haversineMetres(center, point) < 1000);
      assert.ok(point.lat >= box.minLat && point.lat <= box.maxLat && point.lng >= box.minLng && point.lng <= box.maxLng, `bearing ${bearing}`);
    }
    assert.deepEqual([boundingBox({ lat: 89.99, lng: 0 }, 5000).minLng, boundingBox({ lat: 0, lng: 179.99 }, 5000).maxLng], [-180, 180]);
  });
});
