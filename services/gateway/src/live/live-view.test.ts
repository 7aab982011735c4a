import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LiveCar } from '@carshare/contracts';
import { viewFromWatch, viewShows, type LiveView } from './live-view.ts';

const centre = { lat: 52.52, lng: 13.405 };
const car = (overrides: Partial<LiveCar>): LiveCar => ({ id: '0190b5a0-0000-7000-8000-000000000001', ...centre, headingDeg: 0, speedKph: 0, energyPct: 80, state: 'available', ts: 0, ...overrides });

describe('viewFromWatch', () => {
  it('gives riders and staff the area they name', () => {
    for (const staff of [false, true]) {
      assert.deepEqual(viewFromWatch({ type: 'watch', ...centre, radiusM: 500 }, staff), { staff, area: { ...centre, radiusM: 500 } });
    }
  });

  it('gives staff every car without an area, and refuses that to riders', () => {
    assert.deepEqual(viewFromWatch({ type: 'watch' }, true), { staff: true, area: undefined });
    assert.equal((viewFromWatch({ type: 'watch' }, false) as { code: string }).code, 'AREA_REQUIRED');
  });

  it('refuses half an area', () => {
    assert.equal((viewFromWatch({ type: 'watch', lat: 52.5 }, true) as { code: string }).code, 'AREA_INCOMPLETE');
    assert.equal((viewFromWatch({ type: 'watch', lat: 52.5, lng: 13.4 }, false) as { code: string }).code, 'AREA_INCOMPLETE');
  });
});

describe('viewShows', () => {
  const rider: LiveView = { staff: false, area: { ...centre, radiusM: 1000 } };
  const operator: LiveView = { staff: true, area: undefined };

  it('shows a rider only available cars', () => {
    for (const state of ['reserved', 'unlocking', 'in_use', 'locking', 'maintenance', 'offline'] as const) {
      assert.equal(viewShows(rider, car({ state })), false, state);
      assert.equal(viewShows(operator, car({ state })), true, state);
    }
    assert.equal(viewShows(rider, car({})), true);
  });

  it('shows only cars inside the circle (not the corners of its box)', () => {
    const north = (metres: number) => car({ lat: centre.lat + metres / 111_320 });
    assert.equal(viewShows(rider, north(990)), true);
    assert.equal(viewShows(rider, north(1010)), false);
    const diagonal = 800 / Math.SQRT2 + 100; // ~666 m north and east: inside the box, outside the circle
    const corner = car({ lat: centre.lat + diagonal / 111_320, lng: centre.lng + diagonal / (111_320 * Math.cos((centre.lat * Math.PI) / 180)) });
    assert.equal(viewShows({ staff: false, area: { ...centre, radiusM: 800 } }, corner), false);
  });
});
