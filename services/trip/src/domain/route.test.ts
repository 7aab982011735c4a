import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { haversineM, routeDistanceM, tripTimes } from './route.ts';

describe('trip route and times', () => {
  it('haversine: one degree of latitude is ~111.2 km; a point to itself is 0', () => {
    assert.ok(Math.abs(haversineM({ lat: 52, lng: 13 }, { lat: 53, lng: 13 }) - 111_195) < 5);
    assert.equal(haversineM({ lat: 52.52, lng: 13.405 }, { lat: 52.52, lng: 13.405 }), 0);
  });

  it('sums consecutive points in time order, only inside the trip window', () => {
    const a = { lat: 52.52, lng: 13.4 };
    const b = { lat: 52.53, lng: 13.4 };
    const c = { lat: 52.53, lng: 13.41 };
    const points = [
      { at: 3_000, ...c },
      { at: 1_000, ...a },
      { at: 2_000, ...b },
      // Before the trip (the previous rider) and after it (the next): never counted.
      { at: 500, lat: 48, lng: 11 },
      { at: 9_000, lat: 48, lng: 11 },
    ];
    const expected = haversineM(a, b) + haversineM(b, c);
    assert.ok(Math.abs(routeDistanceM(points, 1_000, 3_000) - expected) < 1e-9);
  });

  it('a trip with no or one reported point drove 0 m', () => {
    assert.equal(routeDistanceM([], 0, 10_000), 0);
    assert.equal(routeDistanceM([{ at: 5, lat: 52.5, lng: 13.4 }], 0, 10_000), 0);
  });

  it('driving is the time minus the pauses; a running pause counts as parking up to the end', () => {
    const start = 1_000_000;
    assert.deepEqual(tripTimes({ startedAt: start, pausedMs: 0, pausedSince: undefined }, start + 600_000), { drivingMs: 600_000, parkingMs: 0 });
    assert.deepEqual(tripTimes({ startedAt: start, pausedMs: 120_000, pausedSince: undefined }, start + 600_000), { drivingMs: 480_000, parkingMs: 120_000 });
    assert.deepEqual(tripTimes({ startedAt: start, pausedMs: 120_000, pausedSince: start + 500_000 }, start + 600_000), { drivingMs: 380_000, parkingMs: 220_000 });
  });
});
