import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkTripEnd, distanceToZoneM, type Zone } from './zones.ts';

/** A square from (lng0, lat0) to (lng1, lat1), closed. */
function square(lng0: number, lat0: number, lng1: number, lat1: number) {
  return { type: 'Polygon' as const, coordinates: [[[lng0, lat0], [lng1, lat0], [lng1, lat1], [lng0, lat1], [lng0, lat0]]] };
}

const home: Zone = { id: 'centre', name: 'Centre', kind: 'home', geometry: square(13.3, 52.5, 13.5, 52.55) };
const airport: Zone = { id: 'ber', name: 'Airport', kind: 'dropoff', feeCents: 1_500, geometry: square(13.48, 52.35, 13.53, 52.38) };
const noParking: Zone = { id: 'square', name: 'Market square', kind: 'no_parking', geometry: square(13.4, 52.52, 13.41, 52.525) };
const zones = [home, airport, noParking];

describe('where a trip may end', () => {
  it('allows inside a home zone, for free', () => {
    assert.deepEqual(checkTripEnd(zones, { lat: 52.51, lng: 13.35 }), { allowed: true, zone: home, feeCents: 0 });
  });

  it('counts a point on the border as inside', () => {
    const check = checkTripEnd(zones, { lat: 52.5, lng: 13.35 });
    assert.equal(check.allowed, true);
  });

  it('allows inside a drop-off zone, with its fee', () => {
    assert.deepEqual(checkTripEnd(zones, { lat: 52.36, lng: 13.5 }), { allowed: true, zone: airport, feeCents: 1_500 });
  });

  it('refuses outside every zone, naming the nearest allowed one and how far it is', () => {
    const check = checkTripEnd(zones, { lat: 52.49, lng: 13.35 });
    assert.equal(check.allowed, false);
    if (check.allowed) return;
    assert.equal(check.reason, 'OUTSIDE_OPERATING_AREA');
    assert.equal(check.nearest?.zone.id, 'centre');
    // 0.01° of latitude is about 1,112 m.
    assert.ok(Math.abs((check.nearest?.distanceM ?? 0) - 1_112) < 5, String(check.nearest?.distanceM));
  });

  it('refuses a no-parking zone even inside a home zone', () => {
    const check = checkTripEnd(zones, { lat: 52.522, lng: 13.405 });
    assert.deepEqual([check.allowed, !check.allowed && check.reason], [false, 'NO_PARKING_ZONE']);
  });

  it('is 0 m from a zone it is in', () => {
    assert.equal(distanceToZoneM(home, { lat: 52.52, lng: 13.4 }), 0);
  });

  it('refuses everywhere when no zone is configured', () => {
    const check = checkTripEnd([], { lat: 52.52, lng: 13.4 });
    assert.deepEqual(check, { allowed: false, reason: 'OUTSIDE_OPERATING_AREA', nearest: undefined });
  });
});
