import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '@carshare/web-client';
import { keyStillUsable } from './finish-key.ts';
import { directionToZone } from './nearest-zone.ts';

describe('the nearest zone, as a direction', () => {
  // A 1 km square east of the car (13.40–13.414 E, 52.50–52.509 N); the car at 13.39 E.
  const square = { type: 'Polygon', coordinates: [[[13.4, 52.5], [13.414, 52.5], [13.414, 52.509], [13.4, 52.509], [13.4, 52.5]]] };

  it('points at the closest edge of the zone', () => {
    assert.equal(directionToZone({ lat: 52.504, lng: 13.39 }, square), 'e');
    assert.equal(directionToZone({ lat: 52.52, lng: 13.407 }, square), 's');
    assert.equal(directionToZone({ lat: 52.49, lng: 13.39 }, square), 'ne');
    assert.equal(directionToZone({ lat: 52.504, lng: 13.43 }, square), 'w');
  });

  it('reads MultiPolygons, and has no direction from inside or for a shape it cannot read', () => {
    assert.equal(directionToZone({ lat: 52.52, lng: 13.407 }, { type: 'MultiPolygon', coordinates: [square.coordinates] }), 's');
    assert.equal(directionToZone({ lat: 52.5, lng: 13.405 }, square), undefined, 'on the edge');
    assert.equal(directionToZone({ lat: 52.5, lng: 13.405 }, { type: 'Point', coordinates: [13.4, 52.5] }), undefined);
  });
});

describe('the Idempotency-Key of a finish attempt', () => {
  const refusal = (status: number, code: string) => new ApiError({ status, code, message: 'x' });

  it('is kept when the server may have acted or asked for a retry', () => {
    for (const error of [refusal(0, 'NETWORK_ERROR'), refusal(0, 'REQUEST_TIMEOUT'), refusal(503, 'DEVICE_DID_NOT_ANSWER'), refusal(429, 'RATE_LIMITED'), refusal(409, 'IDEMPOTENCY_KEY_IN_USE')]) {
      assert.equal(keyStillUsable(error), true, error.code);
    }
  });

  it('is replaced after a refusal the gateway keeps for that key (outside the zone, not in progress)', () => {
    assert.equal(keyStillUsable(refusal(409, 'OUTSIDE_OPERATING_AREA')), false);
    assert.equal(keyStillUsable(refusal(409, 'TRIP_NOT_IN_PROGRESS')), false);
    assert.equal(keyStillUsable(refusal(422, 'IDEMPOTENCY_KEY_REUSED')), false);
  });
});
