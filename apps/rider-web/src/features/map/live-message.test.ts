import assert from 'node:assert/strict';
import { it } from 'node:test';
import { applyLiveMessage } from './live-message.ts';
import type { NearbyCarView } from './map-data.ts';

const listed = (id: string, distanceM: number): NearbyCarView =>
  ({ id, distanceM, position: { lat: 52.5, lng: 13.4 }, energyPct: 80, model: 'Zoe', plate: id, category: 'small' }) as unknown as NearbyCarView;
const live = (id: string, state = 'available') => ({ id, lat: 52.51, lng: 13.41, headingDeg: 0, speedKph: 0, energyPct: 70, state, ts: 1 }) as never;

it('drops the cars the live feed says are gone (maintenance, taken), moves the others, and asks for cars it does not know', () => {
  const cars = [listed('a', 100), listed('b', 200), listed('c', 300)];
  const changed = applyLiveMessage(cars, { type: 'changes', cars: [live('a'), live('c', 'maintenance')], gone: ['b'] }, 5_000);
  assert.deepEqual(changed.cars.map((car) => car.id), ['a']);
  assert.deepEqual(changed.cars[0]?.position, { lat: 52.51, lng: 13.41 });
  assert.equal(changed.unknown, false);
  assert.equal(applyLiveMessage(cars, { type: 'changes', cars: [live('new')], gone: [] }, 5_000).unknown, true);
});

it('takes a snapshot as the whole set within the watched radius', () => {
  const cars = [listed('a', 100), listed('b', 200), listed('far', 20_000)];
  const snap = applyLiveMessage(cars, { type: 'snapshot', cars: [live('a')] }, 10_000);
  assert.deepEqual(snap.cars.map((car) => car.id), ['a', 'far']);
});
