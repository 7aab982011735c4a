import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError, Unavailable, uuidV7Ids, type Caller } from '@carshare/platform';
import { createTripFakes } from './testing/trip-fakes.ts';

function rejectsWith(reason: string) {
  return (error: unknown) => {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.reason, reason, error.message);
    return true;
  };
}

const aRider = (): Caller => ({ userId: uuidV7Ids.next(), role: 'rider', plan: 'free' });

function setUp() {
  const fakes = createTripFakes();
  const carId = uuidV7Ids.next();
  fakes.cars.add(carId);
  const rider = aRider();
  fakes.profiles.verified.add(rider.userId);
  return { ...fakes, carId, rider };
}

describe('reservations', () => {
  it('holds the car for the configured minutes and says so in an event', async () => {
    const { service, cars, carId, rider, outbox, clock } = setUp();
    const reservation = await service.reserve({ carId }, rider);
    assert.equal(reservation.status, 'active');
    assert.equal(reservation.expiresAt, clock.now() + 15 * 60_000);
    assert.equal(cars.cars.get(carId)?.reservationId, reservation.id);
    assert.deepEqual(outbox.typesFor(reservation.id), ['reservation.created']);
    assert.deepEqual(await service.getMyReservation(rider), reservation);
  });

  it('takes the hold minutes from the live settings at the time of the reservation', async () => {
    const { service, carId, rider, settings, clock } = setUp();
    settings.set({ ...settings.get(), reservations: { ...settings.get().reservations, holdMinutes: 20 } });
    const reservation = await service.reserve({ carId }, rider);
    assert.equal(reservation.expiresAt, clock.now() + 20 * 60_000);
  });

  it('refuses a rider who is not verified, and claims nothing', async () => {
    const { service, carId, cars } = setUp();
    await assert.rejects(service.reserve({ carId }, aRider()), rejectsWith('PROFILE_NOT_VERIFIED'));
    assert.equal(cars.cars.get(carId)?.state, 'available');
    assert.equal(cars.calls.length, 0);
  });

  it('refuses a signed-out caller', async () => {
    const { service, carId } = setUp();
    await assert.rejects(service.reserve({ carId }, undefined), rejectsWith('AUTHENTICATION_REQUIRED'));
  });

  it('allows one active reservation per rider', async () => {
    const { service, cars, carId, rider } = setUp();
    await service.reserve({ carId }, rider);
    const other = uuidV7Ids.next();
    cars.add(other);
    await assert.rejects(service.reserve({ carId: other }, rider), rejectsWith('RESERVATION_EXISTS'));
    assert.equal(cars.cars.get(other)?.state, 'available', 'the second car was never claimed');
  });

  it('of riders racing for one car exactly one wins; the losers hold nothing', async () => {
    const { service, profiles, carId, reservations } = setUp();
    const riders = Array.from({ length: 5 }, aRider);
    for (const rider of riders) profiles.verified.add(rider.userId);
    const results = await Promise.allSettled(riders.map((rider) => service.reserve({ carId }, rider)));
    const won = results.filter((result) => result.status === 'fulfilled');
    assert.equal(won.length, 1);
    for (const result of results) if (result.status === 'rejected') rejectsWith('CAR_NOT_AVAILABLE')(result.reason);
    for (const rider of riders) {
      const active = await reservations.findActiveByRider(rider.userId);
      assert.equal(active !== undefined, won[0]?.status === 'fulfilled' && won[0].value.riderId === rider.userId);
    }
  });

  it('a claim in doubt (car service down) gives the car back and keeps no reservation', async () => {
    const { service, cars, carId, rider, reservations } = setUp();
    cars.failNext('claim', Unavailable('CAR_SERVICE_UNAVAILABLE', 'down'));
    await assert.rejects(service.reserve({ carId }, rider), rejectsWith('CAR_SERVICE_UNAVAILABLE'));
    assert.equal(await reservations.findActiveByRider(rider.userId), undefined);
    assert.deepEqual(cars.calls.map((call) => call.method), ['claim', 'release']);
  });

  it('a claim in doubt whose release fails too is left to the sweeper, which gives the car back at expiry', async () => {
    const { service, cars, carId, rider, reservations, clock } = setUp();
    // The claim took effect but its answer was lost; the release then fails as well.
    const original = cars.claim.bind(cars);
    cars.claim = async (input, on) => {
      await original(input, on);
      throw Unavailable('CAR_SERVICE_UNAVAILABLE', 'answer lost');
    };
    cars.failNext('release');
    await assert.rejects(service.reserve({ carId }, rider));
    assert.equal(cars.cars.get(carId)?.state, 'reserved');
    assert.ok(await reservations.findActiveByRider(rider.userId), 'the row stays so the sweeper finds it');
    clock.advance(15 * 60_000);
    assert.deepEqual((await service.expireReservations()).expired, 1);
    assert.equal(cars.cars.get(carId)?.state, 'available');
  });

  it('cancel gives the car back once; cancelling again answers the cancelled reservation', async () => {
    const { service, cars, carId, rider, outbox } = setUp();
    const reservation = await service.reserve({ carId }, rider);
    const cancelled = await service.cancelReservation({ reservationId: reservation.id }, rider);
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(cars.cars.get(carId)?.state, 'available');
    assert.equal((await service.cancelReservation({ reservationId: reservation.id }, rider)).status, 'cancelled');
    assert.deepEqual(outbox.typesFor(reservation.id), ['reservation.created', 'reservation.cancelled']);
    assert.equal(await service.getMyReservation(rider), undefined);
  });

  it("another rider's reservation is not found", async () => {
    const { service, carId, rider, cars } = setUp();
    const reservation = await service.reserve({ carId }, rider);
    await assert.rejects(service.cancelReservation({ reservationId: reservation.id }, aRider()), rejectsWith('RESERVATION_NOT_FOUND'));
    assert.equal(cars.cars.get(carId)?.state, 'reserved');
  });

  it('a cancel whose release fails keeps the reservation active for a retry', async () => {
    const { service, cars, carId, rider } = setUp();
    const reservation = await service.reserve({ carId }, rider);
    cars.failNext('release');
    await assert.rejects(service.cancelReservation({ reservationId: reservation.id }, rider), rejectsWith('CAR_SERVICE_UNAVAILABLE'));
    assert.equal((await service.getMyReservation(rider))?.id, reservation.id);
    assert.equal((await service.cancelReservation({ reservationId: reservation.id }, rider)).status, 'cancelled');
    assert.equal(cars.cars.get(carId)?.state, 'available');
  });

  it('the sweeper expires holds at their deadline, not before, and releases the cars', async () => {
    const { service, cars, carId, rider, clock, outbox } = setUp();
    const reservation = await service.reserve({ carId }, rider);
    clock.advance(15 * 60_000 - 1);
    assert.equal((await service.expireReservations()).expired, 0);
    assert.equal(cars.cars.get(carId)?.state, 'reserved');
    clock.advance(1);
    assert.equal((await service.expireReservations()).expired, 1);
    assert.equal(cars.cars.get(carId)?.state, 'available');
    assert.deepEqual(outbox.typesFor(reservation.id), ['reservation.created', 'reservation.expired']);
    assert.equal((await service.expireReservations()).expired, 0, 'an expired hold is swept once');
  });

  it('one failed release does not stop the sweep; the next sweep retries it', async () => {
    const { service, cars, profiles, clock } = setUp();
    const riders = [aRider(), aRider()];
    for (const rider of riders) {
      profiles.verified.add(rider.userId);
      const carId = uuidV7Ids.next();
      cars.add(carId);
      await service.reserve({ carId }, rider);
    }
    clock.advance(15 * 60_000);
    cars.failNext('release');
    const first = await service.expireReservations();
    assert.equal(first.expired, 1);
    assert.equal(first.failed.length, 1);
    assert.equal((await service.expireReservations()).expired, 1);
  });

  it('a rider whose hold ran out but was not swept yet may reserve again', async () => {
    const { service, cars, carId, rider, clock } = setUp();
    await service.reserve({ carId }, rider);
    clock.advance(16 * 60_000);
    assert.equal(await service.getMyReservation(rider), undefined);
    const other = uuidV7Ids.next();
    cars.add(other);
    await service.reserve({ carId: other }, rider);
    assert.equal(cars.cars.get(carId)?.state, 'available', 'the old hold was expired and its car released on the way');
  });
});
