import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppError, uuidV7Ids } from '@carshare/platform';
import { endReservation, newReservation } from '../domain/reservation.ts';
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
