import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError, Conflict, Unavailable, uuidV7Ids, type Caller } from '@carshare/platform';
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

  it('refuses a rider who has not confirmed their address (403 EMAIL_NOT_VERIFIED), and claims nothing', async () => {
    const { service, carId, cars, rider, accounts, reservations } = setUp();
    accounts.unconfirmed.add(rider.userId);
    await assert.rejects(service.reserve({ carId }, rider), (error: unknown) => {
      rejectsWith('EMAIL_NOT_VERIFIED')(error);
      assert.equal((error as AppError).httpStatus, 403);
      return true;
    });
    assert.equal(cars.calls.length, 0);
    assert.equal(await reservations.findActiveByRider(rider.userId), undefined);
    await assert.rejects(service.requireMayReserve(rider), rejectsWith('EMAIL_NOT_VERIFIED'));
    // Confirmed since: the next try goes through (a no is never remembered).
    accounts.unconfirmed.delete(rider.userId);
    assert.equal((await service.reserve({ carId }, rider)).status, 'active');
  });

  it('asks the user service once per rider: a confirmation is never taken back', async () => {
    const { service, carId, cars, rider, accounts } = setUp();
    const reservation = await service.reserve({ carId }, rider);
    await service.cancelReservation({ reservationId: reservation.id }, rider);
    const other = uuidV7Ids.next();
    cars.add(other);
    await service.reserve({ carId: other }, rider);
    await service.requireMayReserve(rider);
    assert.equal(accounts.asked, 1);
  });

  it('a user service that cannot answer refuses the reservation (retryable), holding nothing', async () => {
    const { service, carId, cars, rider, accounts } = setUp();
    accounts.failNext = Unavailable('USER_SERVICE_UNAVAILABLE', 'down');
    await assert.rejects(service.reserve({ carId }, rider), rejectsWith('USER_SERVICE_UNAVAILABLE'));
    assert.equal(cars.cars.get(carId)?.state, 'available');
  });

  describe('extension', () => {
    it('moves expiresAt by the configured minutes once, owes the configured fee and says so in an event', async () => {
      const { service, carId, rider, clock, outbox, settings } = setUp();
      settings.set({ ...settings.get(), reservations: { ...settings.get().reservations, extensionMinutes: 7, extensionFeeCents: 250 } });
      const reservation = await service.reserve({ carId }, rider);
      clock.advance(14 * 60_000);
      const extended = await service.extendReservation({ reservationId: reservation.id }, rider);
      assert.equal(extended.expiresAt, reservation.expiresAt + 7 * 60_000);
      assert.deepEqual(extended.extension, { at: clock.now(), minutes: 7, feeCents: 250, currency: 'EUR' });
      assert.deepEqual(outbox.typesFor(reservation.id), ['reservation.created', 'reservation.extended']);
      const event = outbox.events.find((candidate) => candidate.type === 'reservation.extended');
      assert.deepEqual(event?.data, { reservationId: reservation.id, riderId: rider.userId, carId, expiresAt: new Date(extended.expiresAt).toISOString(), minutes: 7, feeCents: 250, currency: 'EUR' });
      assert.equal((await service.getMyReservation(rider))?.expiresAt, extended.expiresAt);
    });

    it('a second extension is a 409 RESERVATION_ALREADY_EXTENDED with the current state; nothing moves', async () => {
      const { service, carId, rider } = setUp();
      const reservation = await service.reserve({ carId }, rider);
      const extended = await service.extendReservation({ reservationId: reservation.id }, rider);
      await assert.rejects(service.extendReservation({ reservationId: reservation.id }, rider), (error: unknown) => {
        rejectsWith('RESERVATION_ALREADY_EXTENDED')(error);
        assert.equal((error as AppError).httpStatus, 409);
        assert.deepEqual((error as AppError).details, {
          reservationId: reservation.id,
          current: 'active',
          expiresAt: new Date(extended.expiresAt).toISOString(),
          extendedAt: new Date(extended.extension!.at).toISOString(),
        });
        return true;
      });
      assert.equal((await service.getMyReservation(rider))?.expiresAt, extended.expiresAt);
    });

    it('of two extensions at once exactly one is sold', async () => {
      const { service, carId, rider, outbox } = setUp();
      const reservation = await service.reserve({ carId }, rider);
      const results = await Promise.allSettled([service.extendReservation({ reservationId: reservation.id }, rider), service.extendReservation({ reservationId: reservation.id }, rider)]);
      assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
      for (const result of results) if (result.status === 'rejected') rejectsWith('RESERVATION_ALREADY_EXTENDED')(result.reason);
      assert.deepEqual(outbox.typesFor(reservation.id), ['reservation.created', 'reservation.extended']);
    });

    it('a cancelled or run-out reservation is a 409 RESERVATION_NOT_ACTIVE naming its state', async () => {
      const { service, carId, rider, clock, cars } = setUp();
      const reservation = await service.reserve({ carId }, rider);
      clock.advance(15 * 60_000);
      await assert.rejects(service.extendReservation({ reservationId: reservation.id }, rider), (error: unknown) => {
        rejectsWith('RESERVATION_NOT_ACTIVE')(error);
        assert.equal((error as AppError).details['current'], 'expired', 'run out, even before the sweeper came');
        return true;
      });
      const other = uuidV7Ids.next();
      cars.add(other);
      const second = await service.reserve({ carId: other }, rider);
      await service.cancelReservation({ reservationId: second.id }, rider);
      await assert.rejects(service.extendReservation({ reservationId: second.id }, rider), (error: unknown) => {
        rejectsWith('RESERVATION_NOT_ACTIVE')(error);
        assert.equal((error as AppError).details['current'], 'cancelled');
        return true;
      });
    });

    it("another rider's reservation is not found", async () => {
      const { service, carId, rider } = setUp();
      const reservation = await service.reserve({ carId }, rider);
      await assert.rejects(service.extendReservation({ reservationId: reservation.id }, aRider()), rejectsWith('RESERVATION_NOT_FOUND'));
      await assert.rejects(service.extendReservation({ reservationId: reservation.id }, undefined), rejectsWith('AUTHENTICATION_REQUIRED'));
    });

    it('the sweeper honours the moved deadline: the car stays held until it, and is released at it', async () => {
      const { service, carId, rider, clock, cars } = setUp();
      const reservation = await service.reserve({ carId }, rider);
      const extended = await service.extendReservation({ reservationId: reservation.id }, rider);
      clock.advance(15 * 60_000);
      assert.equal((await service.expireReservations()).expired, 0);
      assert.equal(cars.cars.get(carId)?.state, 'reserved');
      clock.set(extended.expiresAt);
      assert.equal((await service.expireReservations()).expired, 1);
      assert.equal(cars.cars.get(carId)?.state, 'available');
    });

    it('an extended hold that expires is charged its fee alone, once, under one reference', async () => {
      const { service, carId, rider, clock, payments, reservations } = setUp();
      const reservation = await service.reserve({ carId }, rider);
      const extended = await service.extendReservation({ reservationId: reservation.id }, rider);
      clock.set(extended.expiresAt);
      await service.expireReservations();
      const payment = payments.payments.get(`reservation-extension:${reservation.id}`);
      assert.equal(payment?.status, 'captured');
      assert.deepEqual(payment?.captures, [extended.extension!.feeCents]);
      assert.equal((await reservations.find(reservation.id))?.feeStatus, 'charged');
      assert.deepEqual(await service.chargeOwedFees(), { charged: 0, failed: [] });
      assert.deepEqual(payments.allCaptures(), [extended.extension!.feeCents], 'charged once');
    });

    it('a cancelled extended hold whose charge fails keeps the fee owed; the next sweep charges it once', async () => {
      const { service, carId, rider, payments, reservations } = setUp();
      const reservation = await service.reserve({ carId }, rider);
      const extended = await service.extendReservation({ reservationId: reservation.id }, rider);
      payments.failNext('capture');
      const cancelled = await service.cancelReservation({ reservationId: reservation.id }, rider);
      assert.equal(cancelled.status, 'cancelled', 'the cancel itself succeeds');
      assert.equal((await reservations.find(reservation.id))?.feeStatus, 'owed');
      assert.equal((await service.chargeOwedFees()).charged, 1);
      assert.equal((await service.chargeOwedFees()).charged, 0);
      assert.deepEqual(payments.allCaptures(), [extended.extension!.feeCents]);
    });

    it('a declined card leaves the fee failed for an operator, not retried forever', async () => {
      const { service, carId, rider, payments, reservations } = setUp();
      const reservation = await service.reserve({ carId }, rider);
      await service.extendReservation({ reservationId: reservation.id }, rider);
      payments.failNext('authorize', Conflict('PAYMENT_DECLINED', 'declined'));
      await service.cancelReservation({ reservationId: reservation.id }, rider);
      assert.equal((await reservations.find(reservation.id))?.feeStatus, 'failed');
      assert.deepEqual(await service.chargeOwedFees(), { charged: 0, failed: [] });
    });

    it('an unextended hold that ends is never charged', async () => {
      const { service, carId, rider, payments } = setUp();
      const reservation = await service.reserve({ carId }, rider);
      await service.cancelReservation({ reservationId: reservation.id }, rider);
      assert.equal(payments.payments.size, 0);
    });
  });
});
