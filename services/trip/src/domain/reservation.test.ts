import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endReservation, extendReservation, extensionFee, isHolding, newReservation, owesFeeAlone } from './reservation.ts';

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

  describe('extension', () => {
    const terms = { minutes: 10, feeCents: 150, currency: 'EUR' };

    it('moves the deadline by the extension minutes from the old deadline, once, and owes the fee', () => {
      const reservation = newReservation(base);
      const outcome = extendReservation(reservation, { ...terms, now: reservation.expiresAt - 1 });
      assert.ok('extended' in outcome);
      const { extended } = outcome;
      assert.equal(extended.expiresAt, reservation.expiresAt + 10 * 60_000, 'bought in the last millisecond, still the full minutes');
      assert.deepEqual(extended.extension, { at: reservation.expiresAt - 1, minutes: 10, feeCents: 150, currency: 'EUR' });
      assert.equal(extended.feeStatus, 'owed');
      assert.equal(isHolding(extended, reservation.expiresAt + 1), true, 'held past the old deadline');
      assert.deepEqual(extendReservation(extended, { ...terms, now: 2_000 }), { refused: 'already_extended' });
      assert.equal(reservation.extension, undefined, 'the original is not changed');
    });

    it('is refused once the hold ran out (swept or not) and for every ended reservation', () => {
      const reservation = newReservation(base);
      assert.deepEqual(extendReservation(reservation, { ...terms, now: reservation.expiresAt }), { refused: 'not_active' });
      for (const to of ['cancelled', 'expired', 'converted'] as const) {
        const ended = endReservation(reservation, to, 5_000)!;
        assert.deepEqual(extendReservation(ended, { ...terms, now: 5_001 }), { refused: 'not_active' });
      }
    });

    it('a free extension owes nothing', () => {
      const outcome = extendReservation(newReservation(base), { ...terms, feeCents: 0, now: 2_000 });
      assert.ok('extended' in outcome);
      assert.equal(outcome.extended.feeStatus, 'waived');
      assert.equal(extensionFee(outcome.extended), undefined);
      assert.equal(owesFeeAlone(endReservation(outcome.extended, 'cancelled', 3_000)!), false);
    });

    it('its fee is a receipt line of the trip it became, and charged alone only after a cancel or an expiry', () => {
      const outcome = extendReservation(newReservation(base), { ...terms, now: 2_000 });
      assert.ok('extended' in outcome);
      const { extended } = outcome;
      assert.deepEqual(extensionFee(extended), { code: 'reservation_extension', description: 'Reservation extended by 10 min', cents: 150 });
      assert.equal(extensionFee(newReservation(base)), undefined, 'no extension, no line');
      assert.equal(owesFeeAlone(extended), false, 'still active: it may yet become a trip');
      assert.equal(owesFeeAlone(endReservation(extended, 'converted', 3_000)!), false, "the trip's receipt carries it");
      assert.equal(owesFeeAlone(endReservation(extended, 'cancelled', 3_000)!), true);
      assert.equal(owesFeeAlone(endReservation(extended, 'expired', 3_000)!), true);
      assert.equal(owesFeeAlone({ ...endReservation(extended, 'expired', 3_000)!, feeStatus: 'charged' }), false, 'charged once');
    });
  });
});
