import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endReservation, isHolding, newReservation } from './reservation.ts';

const base = { id: 'r1', riderId: 'u1', carId: 'c1', now: 1_000, holdMinutes: 15 };

describe('reservation', () => {
  it('holds the car for the hold minutes from its creation', () => {
    const reservation = newReservation(base);
    assert.equal(reservation.status, 'active');
    assert.equal(reservation.expiresAt, 1_000 + 15 * 60_000);
    assert.equal(isHolding(reservation, reservation.expiresAt - 1), true);
    assert.equal(isHolding(reservation, reservation.expiresAt), false, 'the deadline itself is past the hold');
  });

  it('ends once: cancelled, expired or converted, never again', () => {
    const reservation = newReservation(base);
    for (const to of ['cancelled', 'expired', 'converted'] as const) {
      const ended = endReservation(reservation, to, 5_000);
      assert.equal(ended?.status, to);
      assert.equal(ended?.endedAt, 5_000);
      assert.equal(isHolding(ended!, 2_000), false);
      for (const again of ['cancelled', 'expired', 'converted'] as const) assert.equal(endReservation(ended!, again, 6_000), undefined);
    }
  });
});
