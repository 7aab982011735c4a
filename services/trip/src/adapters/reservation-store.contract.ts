import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppError, uuidV7Ids } from '@carshare/platform';
import { endReservation, extendReservation, newReservation, type Reservation } from '../domain/reservation.ts';
import type { ReservationStore } from '../ports.ts';

export interface ReservationStoreTarget {
  store: ReservationStore;
  close(): Promise<void>;
}

/** What every ReservationStore guarantees; run against memory and SQL. */
export function describeReservationStoreContract(name: string, open: () => Promise<ReservationStoreTarget>): void {
  describe(`ReservationStore contract (${name})`, () => {
    let target: ReservationStoreTarget;
    before(async () => {
      target = await open();
    });
    after(async () => {
      await target.close();
    });
    const make = (riderId: string, now = 1_000_000) => newReservation({ id: uuidV7Ids.next(), riderId, carId: uuidV7Ids.next(), now, holdMinutes: 15 });

    it('stores and finds a reservation as it was', async () => {
      const reservation = make(uuidV7Ids.next());
      await target.store.insert(reservation);
      assert.deepEqual(await target.store.find(reservation.id), reservation);
      assert.deepEqual(await target.store.findActiveByRider(reservation.riderId), reservation);
    });

    it('refuses a second active reservation of one rider, also when both insert at once', async () => {
      const riderId = uuidV7Ids.next();
      const results = await Promise.allSettled([target.store.insert(make(riderId)), target.store.insert(make(riderId))]);
      assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
      const refused = results.find((result) => result.status === 'rejected');
      assert.ok(refused?.reason instanceof AppError && refused.reason.reason === 'RESERVATION_EXISTS', String(refused?.reason));
    });

    it('lets a rider reserve again once the first one ended', async () => {
      const first = make(uuidV7Ids.next());
      await target.store.insert(first);
      assert.equal(await target.store.end(endReservation(first, 'cancelled', 2_000_000)!), true);
      await target.store.insert(make(first.riderId));
    });

    it('ends a reservation once: a second end (the sweeper after a cancel) changes nothing', async () => {
      const reservation = make(uuidV7Ids.next());
      await target.store.insert(reservation);
      const [a, b] = await Promise.all([target.store.end(endReservation(reservation, 'cancelled', 2_000)!), target.store.end(endReservation(reservation, 'expired', 2_000)!)]);
      assert.equal(Number(a) + Number(b), 1, 'exactly one end wins');
      const stored = await target.store.find(reservation.id);
      assert.equal(stored?.status, a ? 'cancelled' : 'expired');
      assert.equal(stored?.endedAt, 2_000);
    });

    const extended = (reservation: Reservation, now: number, feeCents = 150): Reservation => {
      const outcome = extendReservation(reservation, { now, minutes: 10, feeCents, currency: 'EUR' });
      assert.ok('extended' in outcome);
      return outcome.extended;
    };

    it('stores one extension: of two racing exactly one wins, and the moved deadline is what the sweeper reads', async () => {
      const reservation = make(uuidV7Ids.next());
      await target.store.insert(reservation);
      const now = reservation.createdAt + 60_000;
      const results = await Promise.all([target.store.extend(extended(reservation, now), now), target.store.extend(extended(reservation, now + 1), now + 1)]);
      assert.equal(results.filter(Boolean).length, 1, 'exactly one extension wins');
      const stored = await target.store.find(reservation.id);
      assert.equal(stored?.expiresAt, reservation.expiresAt + 10 * 60_000);
      assert.equal(stored?.extension?.minutes, 10);
      assert.equal(stored?.extension?.feeCents, 150);
      assert.equal(stored?.extension?.currency, 'EUR');
      assert.equal(stored?.feeStatus, 'owed');
      const due = await target.store.expiredBy(reservation.expiresAt, 1_000);
      assert.equal(due.some((candidate) => candidate.id === reservation.id), false, 'not due at the old deadline');
      const later = await target.store.expiredBy(reservation.expiresAt + 10 * 60_000, 1_000);
      assert.equal(later.some((candidate) => candidate.id === reservation.id), true, 'due at the new one');
    });

    it('refuses an extension once the deadline passed or the reservation ended', async () => {
      const late = make(uuidV7Ids.next());
      await target.store.insert(late);
      assert.equal(await target.store.extend(extended(late, late.createdAt), late.expiresAt), false, 'the sweeper may take it now');
      const ended = make(uuidV7Ids.next());
      await target.store.insert(ended);
      await target.store.end(endReservation(ended, 'cancelled', ended.createdAt + 1)!);
      assert.equal(await target.store.extend(extended(ended, ended.createdAt + 2), ended.createdAt + 2), false);
      assert.equal((await target.store.find(ended.id))?.extension, undefined);
    });

    it('settles an owed fee once, and lists only ended holds whose fee is still owed', async () => {
      const owing = make(uuidV7Ids.next());
      const active = make(uuidV7Ids.next());
      const converted = make(uuidV7Ids.next());
      for (const reservation of [owing, active, converted]) {
        await target.store.insert(reservation);
        await target.store.extend(extended(reservation, reservation.createdAt + 1), reservation.createdAt + 1);
      }
      await target.store.end(endReservation((await target.store.find(owing.id))!, 'expired', owing.createdAt + 2)!);
      await target.store.end(endReservation((await target.store.find(converted.id))!, 'converted', converted.createdAt + 2)!);
      const owed = (await target.store.feesOwed(1_000)).map((reservation) => reservation.id);
      assert.equal(owed.includes(owing.id), true);
      assert.equal(owed.includes(active.id), false, 'an active hold may still become a trip');
      assert.equal(owed.includes(converted.id), false, "a converted hold's fee is on its trip");
      assert.equal(await target.store.settleFee(owing.id, 'charged'), true);
      assert.equal(await target.store.settleFee(owing.id, 'charged'), false, 'settled once');
      assert.equal((await target.store.find(owing.id))?.feeStatus, 'charged');
      assert.equal((await target.store.feesOwed(1_000)).some((reservation) => reservation.id === owing.id), false);
    });

    it('lists active holds whose deadline passed, oldest first, and removes one', async () => {
      const base = 5_000_000_000_000;
      const late = make(uuidV7Ids.next(), base);
      const early = make(uuidV7Ids.next(), base - 60_000);
      const fresh = make(uuidV7Ids.next(), base + 60 * 60_000);
      for (const reservation of [late, early, fresh]) await target.store.insert(reservation);
      const due = await target.store.expiredBy(late.expiresAt, 10);
      const mine = due.filter((reservation) => [late.id, early.id, fresh.id].includes(reservation.id)).map((reservation) => reservation.id);
      assert.deepEqual(mine, [early.id, late.id]);
      await target.store.remove(early.id);
      assert.equal(await target.store.find(early.id), undefined);
    });
  });
}
