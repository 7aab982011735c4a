import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canReservationBecome,
  canTripBecome,
  canTripPaymentBecome,
  reservationStatuses,
  tripPaymentStatuses,
  tripStatuses,
} from './trip-states.ts';

function exhaustively<State extends string>(name: string, states: readonly State[], allowed: ReadonlyArray<readonly [State, State]>, can: (from: State, to: State) => boolean) {
  describe(name, () => {
    for (const from of states) {
      for (const to of states) {
        const expected = allowed.some(([a, b]) => a === from && b === to);
        it(`${expected ? 'allows' : 'forbids'} ${from} → ${to}`, () => {
          assert.equal(can(from, to), expected);
        });
      }
    }
  });
}

exhaustively('the reservation state machine', reservationStatuses, [
  ['active', 'converted'],
  ['active', 'cancelled'],
  ['active', 'expired'],
], canReservationBecome);

exhaustively('the trip state machine', tripStatuses, [
  ['starting', 'in_progress'],
  ['starting', 'failed'],
  ['in_progress', 'paused'],
  ['in_progress', 'finishing'],
  ['paused', 'in_progress'],
  ['paused', 'finishing'],
  ['finishing', 'finished'],
  ['finishing', 'in_progress'],
  ['finishing', 'paused'],
], canTripBecome);

exhaustively('a finished trip’s payment', tripPaymentStatuses, [
  ['pending', 'captured'],
  ['pending', 'failed'],
  ['failed', 'captured'],
], canTripPaymentBecome);
