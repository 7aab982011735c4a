/**
 * The peers' activity store: each rider's active reservation and live trip, from memory, as
 * our trip service answers GetMyActivity for a rider it has just seen holding nothing (its
 * idle-rider memory). The rider the benchmark logs in as holds nothing, as ours does; a
 * thousand others hold a reservation, so the store is not a single constant.
 */
import { randomUUID } from 'node:crypto';

const nothing = Object.freeze({ reservation: null, trip: null });

export function createActivityStore(riderId) {
  const activities = new Map();
  activities.set(riderId, nothing);
  for (let index = 1; index <= 1_000; index++) {
    const rider = randomUUID();
    activities.set(rider, {
      reservation: {
        id: randomUUID(),
        riderId: rider,
        carId: randomUUID(),
        status: 'active',
        createdAt: new Date(Date.UTC(2026, 0, 1) + index * 60_000).toISOString(),
        expiresAt: new Date(Date.UTC(2026, 0, 1) + index * 60_000 + 15 * 60_000).toISOString(),
      },
      trip: null,
    });
  }
  /** A rider never seen holds nothing. */
  return { get: (id) => activities.get(id) ?? nothing };
}
