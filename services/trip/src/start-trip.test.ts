import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppError, Conflict, DeadlineExceeded, LiveConfig, systemClock, Unavailable, uuidV7Ids, type Caller } from '@carshare/platform';
import { createEventFactory, migrateMessagingTables } from '@carshare/messaging';
import { migrateSagaTables, SagaRunner } from '@carshare/saga';
import { openTestDatabase, type ServiceDatabase, type TestDatabase } from '@carshare/storage';
import { SqlReservationStore } from './adapters/sql-reservation-store.ts';
import { SqlTripLog } from './adapters/sql-trip-log.ts';
import type { TripDatabase } from './adapters/trip-database.ts';
import { loadTripConfig } from './config.ts';
import { newReservation } from './domain/reservation.ts';
import { settingsOf, tripMigrationsDir } from './module.ts';
import { createStartTrip, defineStartTripSaga } from './start-trip.ts';
import { FakeCars, FakePayments, FakeProfiles } from './testing/fake-cars.ts';
import { recordingOutbox } from './testing/recording-outbox.ts';

// The start-trip saga on a real saga log (PGlite, or PostgreSQL with DATABASE_URL) with fakes of
// the car, profile and payment services, and a fault at each step.

function rejectsWith(reason: string, status: number) {
  return (error: unknown) => {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.reason, reason, error.message);
    assert.equal(error.httpStatus, status, `${error.reason} answers ${error.httpStatus}`);
    return true;
  };
}

function describeStartTrip(name: string, databaseUrl: string | undefined) {
  describe(`start trip saga (${name})`, () => {
    let test: TestDatabase;
    let db: ServiceDatabase<TripDatabase>;
    before(async () => {
      test = await openTestDatabase({
        databaseUrl,
        schemaPrefix: 'trip_start',
        prepare: async (database) => {
          await database.migrate(tripMigrationsDir);
          await migrateSagaTables(database);
          await migrateMessagingTables(database);
        },
      });
      db = test.database as ServiceDatabase<TripDatabase>;
    });
    after(() => test.close());

    function setUp() {
      const cars = new FakeCars();
      const profiles = new FakeProfiles();
      const payments = new FakePayments();
      const settings = new LiveConfig(settingsOf(loadTripConfig()));
      const { outbox, published } = recordingOutbox(db);
      const events = createEventFactory({ source: 'trip', clock: systemClock, ids: uuidV7Ids });
      const saga = defineStartTripSaga({ cars, profiles, payments, settings, clock: systemClock, events, outbox });
      const runner = new SagaRunner({ database: db, sagas: [saga], clock: systemClock });
      const reservations = new SqlReservationStore(db.db);
      const startTrip = createStartTrip({ db: db.db, transact: (work) => db.transaction((trx) => work(trx as never)), events, outbox, runner, saga, reservations, clock: systemClock, ids: uuidV7Ids });
      const carId = uuidV7Ids.next();
      cars.add(carId, 'premium');
      const rider: Caller = { userId: uuidV7Ids.next(), role: 'rider', plan: 'free' };
      profiles.verified.add(rider.userId);
      const log = new SqlTripLog(db.db);
      return { cars, profiles, payments, settings, runner, reservations, startTrip, carId, rider, log, published };
    }

    it('starts: car claimed and unlocked, the deposit of its category held under the trip id, in_progress with its tariff', async () => {
      const context = setUp();
      const { startTrip, carId, rider, cars, payments, log, settings } = context;
      const trip = await startTrip({ carId }, rider);
      assert.equal(trip.status, 'in_progress');
      assert.equal(trip.category, 'premium');
      assert.equal(trip.depositCents, settings.get().deposits.premium);
      assert.equal(cars.cars.get(carId)?.state, 'in_use');
      const hold = await payments.findByReference(trip.id);
      assert.equal(hold?.status, 'authorized');
      assert.equal(trip.paymentId, hold?.paymentId);
      assert.deepEqual((await log.events(trip.id)).map((event) => event.type), ['trip.requested', 'trip.started']);
      assert.deepEqual((await context.published(trip.id)).map((event) => [event.type, event.subject]), [['trip.started', trip.id]]);
    });

    it('a retried start with the same trip id joins its saga: one trip, one hold', async () => {
      const { startTrip, carId, rider, payments } = setUp();
      const tripId = uuidV7Ids.next();
      const [a, b] = await Promise.allSettled([startTrip({ carId, tripId }, rider), startTrip({ carId, tripId }, rider)]);
      const started = [a, b].filter((result) => result.status === 'fulfilled');
      assert.ok(started.length >= 1, String(a.status === 'rejected' ? a.reason : b.status === 'rejected' ? b.reason : ''));
      const again = await startTrip({ carId, tripId }, rider);
      assert.equal(again.id, tripId);
      assert.equal(payments.payments.size, 1);
    });

    it('converts the rider reservation: the car stays held under its id and is unlocked', async () => {
      const { startTrip, carId, rider, cars, reservations } = setUp();
      const reservation = newReservation({ id: uuidV7Ids.next(), riderId: rider.userId, carId, now: Date.now(), holdMinutes: 15 });
      await reservations.insert(reservation);
      await cars.claim({ carId, reservationId: reservation.id }, { riderId: rider.userId });
      const trip = await startTrip({ reservationId: reservation.id }, rider);
      assert.equal(trip.status, 'in_progress');
      assert.equal((await reservations.find(reservation.id))?.status, 'converted');
      assert.equal(cars.cars.get(carId)?.reservationId, reservation.id);
    });

    async function assertCompensated(context: ReturnType<typeof setUp>, tripId: string | undefined, reason: string) {
      assert.equal(context.cars.cars.get(context.carId)?.state, 'available', 'the car is available again');
      assert.deepEqual(context.payments.openHolds(), [], 'no authorisation is left open');
      if (tripId) {
        const trip = await context.log.find(tripId);
        assert.equal(trip?.status, 'failed');
        assert.equal(trip?.failureReason, reason);
      }
    }

    it('profile not verified: 409, nothing claimed, the trip failed with the reason', async () => {
      const context = setUp();
      context.profiles.verified.delete(context.rider.userId);
      const tripId = uuidV7Ids.next();
      await assert.rejects(context.startTrip({ carId: context.carId, tripId }, context.rider), rejectsWith('PROFILE_NOT_VERIFIED', 409));
      await assertCompensated(context, tripId, 'PROFILE_NOT_VERIFIED');
      assert.equal(context.cars.calls.filter((call) => call.method === 'claim').length, 0);
    });

    it('car taken: 409, no hold', async () => {
      const context = setUp();
      await context.cars.claim({ carId: context.carId, reservationId: uuidV7Ids.next() }, { riderId: uuidV7Ids.next() });
      const tripId = uuidV7Ids.next();
      await assert.rejects(context.startTrip({ carId: context.carId, tripId }, context.rider), rejectsWith('CAR_NOT_AVAILABLE', 409));
      assert.equal(context.cars.cars.get(context.carId)?.state, 'reserved', "the other rider's hold is untouched");
      assert.deepEqual(context.payments.openHolds(), []);
      assert.equal((await context.log.find(tripId))?.status, 'failed');
    });

    it('payment declined: 409, the car released', async () => {
      const context = setUp();
      context.payments.failNext('authorize', Conflict('PAYMENT_DECLINED', 'card declined'));
      const tripId = uuidV7Ids.next();
      await assert.rejects(context.startTrip({ carId: context.carId, tripId }, context.rider), rejectsWith('PAYMENT_DECLINED', 409));
      await assertCompensated(context, tripId, 'PAYMENT_DECLINED');
      assert.deepEqual((await context.published(tripId)).map((event) => [event.type, (event.data as { reason: string }).reason]), [['trip.failed', 'PAYMENT_DECLINED']]);
    });

    it('payment provider down: 503, the car released, a hold made in doubt is found by reference and voided', async () => {
      const context = setUp();
      // The hold is placed but its answer is lost: the compensation finds it by the trip id.
      const authorize = context.payments.authorize.bind(context.payments);
      context.payments.authorize = async (input) => {
        await authorize(input);
        throw Unavailable('PAYMENT_PROVIDER_UNAVAILABLE', 'provider timed out');
      };
      const tripId = uuidV7Ids.next();
      await assert.rejects(context.startTrip({ carId: context.carId, tripId }, context.rider), rejectsWith('PAYMENT_PROVIDER_UNAVAILABLE', 503));
      await assertCompensated(context, tripId, 'PAYMENT_PROVIDER_UNAVAILABLE');
      assert.equal(context.payments.payments.size, 1);
    });

    it('device never acks: 504/503, the hold voided, the car released', async () => {
      const context = setUp();
      context.cars.failNext('unlock', DeadlineExceeded('DEVICE_DID_NOT_ANSWER', 'no ack'));
      const tripId = uuidV7Ids.next();
      await assert.rejects(context.startTrip({ carId: context.carId, tripId }, context.rider), (error: unknown) => {
        assert.ok(error instanceof AppError && error.reason === 'DEVICE_DID_NOT_ANSWER', String(error));
        assert.ok(error.httpStatus >= 500);
        return true;
      });
      await assertCompensated(context, tripId, 'DEVICE_DID_NOT_ANSWER');
      assert.equal([...context.payments.payments.values()][0]?.status, 'voided');
    });
  });
}

describeStartTrip('PGlite', undefined);
if (process.env.DATABASE_URL) describeStartTrip('PostgreSQL', process.env.DATABASE_URL);
