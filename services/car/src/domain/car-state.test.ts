import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { carMoves, carStates, holdsReservation, isIdle, nextState, type CarMove, type CarState } from './car-state.ts';

// Written out by hand from DOMAIN.md and the issue, not derived from the table under test: every
// (state, move) pair not listed here must be refused.
const allowed: Array<[CarState, CarMove, CarState]> = [
  ['available', 'claim', 'reserved'],
  ['reserved', 'release', 'available'],
  ['reserved', 'beginUnlock', 'unlocking'],
  ['unlocking', 'unlockConfirmed', 'in_use'],
  ['unlocking', 'unlockFailed', 'reserved'],
  ['in_use', 'beginLock', 'locking'],
  ['locking', 'lockConfirmed', 'available'],
  ['locking', 'lockFailed', 'in_use'],
  ['available', 'startMaintenance', 'maintenance'],
  ['offline', 'startMaintenance', 'maintenance'],
  ['maintenance', 'endMaintenance', 'available'],
  ['available', 'wentSilent', 'offline'],
  ['offline', 'cameBack', 'available'],
];

describe('car state machine', () => {
  for (const [from, move, to] of allowed) {
    it(`allows ${move} from ${from} to ${to}`, () => assert.equal(nextState(from, move), to));
  }

  const forbidden = carStates.flatMap((from) =>
    carMoves.filter((move) => !allowed.some(([f, m]) => f === from && m === move)).map((move) => [from, move] as const),
  );

  it(`forbids the other ${forbidden.length} (state, move) pairs`, () => {
    assert.equal(forbidden.length, carStates.length * carMoves.length - allowed.length);
    for (const [from, move] of forbidden) assert.equal(nextState(from, move), undefined, `${move} from ${from}`);
  });

  it('calls available, maintenance and offline idle, and only the rental states holding a reservation', () => {
    assert.deepEqual(carStates.filter(isIdle), ['available', 'maintenance', 'offline']);
    assert.deepEqual(carStates.filter(holdsReservation), ['reserved', 'unlocking', 'in_use', 'locking']);
  });
});
