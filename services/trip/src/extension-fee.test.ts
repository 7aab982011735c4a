import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { berlinCentre } from '@carshare/city';
import { createEventFactory, migrateMessagingTables } from '@carshare/messaging';
import { Conflict, DeadlineExceeded, LiveConfig, uuidV7Ids, type Caller } from '@carshare/platform';
import { migrateSagaTables, SagaRunner } from '@carshare/saga';
import { openTestDatabase, type ServiceDatabase, type TestDatabase } from '@carshare/storage';
import { FakeClock, ManualScheduler } from '@carshare/testing';
import { sqlFailedStartFees } from './adapters/failed-start-fees.ts';
import { SqlReservationStore } from './adapters/sql-reservation-store.ts';
import type { TripDatabase } from './adapters/trip-database.ts';
import { loadTripConfig, tariffFor } from './config.ts';
import { priceTrip } from './domain/pricing.ts';
import { extendReservation, newReservation } from './domain/reservation.ts';
import { createFinishTrip, defineFinishTripSaga } from './finish-trip.ts';
import { settingsOf, tripMigrationsDir } from './module.ts';
import { renderReceiptPdf } from './receipt-pdf.ts';
import { createStartTrip, defineStartTripSaga } from './start-trip.ts';
import type { UnitOfWork } from './ports.ts';
import { FakeAccounts } from './testing/fake-accounts.ts';
import { FakeCars, FakePayments, FakeProfiles } from './testing/fake-cars.ts';
import { sqlOf, withBatchHook, type BeforeBatch } from './testing/batch-hook.ts';
import { recordingOutbox } from './testing/recording-outbox.ts';
import { createTripQueries } from './trip-queries.ts';
import { createTripService, extensionFeeReference } from './trip-service.ts';

// A reservation extended for a fee that becomes a trip: the fee is a line of that trip's
// receipt (JSON and PDF), captured with the trip, and no longer owed on its own. On a real
// saga log and trip log (PGlite, or PostgreSQL with DATABASE_URL), fakes of car and payment.

const minute = 60_000;

/** The text pdfkit wrote: its uncompressed content streams show text as hex strings in TJ arrays. */
function pdfText(pdf: Buffer): string {
  const parts: string[] = [];
  for (const match of pdf.toString('latin1').matchAll(/\[((?:<[0-9a-fA-F]*>\s*-?[\d.]*\s*)+)\]\s*TJ/g)) {
    parts.push([...(match[1] ?? '').matchAll(/<([0-9a-fA-F]*)>/g)].map((hex) => Buffer.from(hex[1] ?? '', 'hex').toString('latin1')).join(''));
  }
  return parts.join('\n');
}

function describeExtensionFee(name: string, databaseUrl: string | undefined) {
  describe(`reservation extension fee on the trip receipt (${name})`, () => {
    let test: TestDatabase;
    let db: ServiceDatabase<TripDatabase>;
    before(async () => {
      test = await openTestDatabase({
        databaseUrl,
        schemaPrefix: 'trip_extension_fee',
        prepare: async (database) => {
          await database.migrate(tripMigrationsDir);
          await migrateSagaTables(database);
          await migrateMessagingTables(database);
        },
      });
      db = test.database as ServiceDatabase<TripDatabase>;
    });
    after(() => test.close());

    /** `beforeBatch`: runs before each batch the sagas send, as another writer would get in first. */
    function setUp(options: { beforeBatch?: BeforeBatch } = {}) {
      const clock = new FakeClock('2026-12-04T10:00:00.000Z');
      const cars = new FakeCars();
      const profiles = new FakeProfiles();
      const payments = new FakePayments();
      const settings = new LiveConfig(settingsOf(loadTripConfig()));
      const events = createEventFactory({ source: 'trip', clock, ids: uuidV7Ids });
      const { outbox } = recordingOutbox(db);
      const startSaga = defineStartTripSaga({ cars, profiles, payments, settings, clock, events, outbox });
      const finishSaga = defineFinishTripSaga({ db: db.db, cars, payments, settings, clock, events, outbox });
      const runner = new SagaRunner({ database: withBatchHook(db, options.beforeBatch), sagas: [startSaga, finishSaga], clock });
      const reservations = new SqlReservationStore(db.db);
      const unitOfWork: UnitOfWork = {
        run: (work) => db.transaction((trx) => work({ reservations: new SqlReservationStore(trx as never), events: { add: async () => {} } })),
      };
      const service = createTripService({
        reservations,
        unitOfWork,
        events,
        cars,
        profiles,
        accounts: new FakeAccounts(),
        payments,
        settings,
        clock,
        scheduler: new ManualScheduler(clock),
        ids: uuidV7Ids,
        failedStarts: sqlFailedStartFees(db.db, runner),
      });
      const startTrip = createStartTrip({
        db: db.db,
        transact: (work) => db.transaction((trx) => work(trx as never)),
        events,
        outbox,
        runner,
        saga: startSaga,
        reservations,
        clock,
        ids: uuidV7Ids,
        settleFeeOfFailedStart: service.settleFeeOfFailedStart,
      });
      const finishTrip = createFinishTrip({ db: db.db, runner, saga: finishSaga, cars, settings, ids: uuidV7Ids, clock });
      const queries = createTripQueries({ db: db.db, cars, runner, settings, clock });
      const rider: Caller = { userId: uuidV7Ids.next(), role: 'rider', plan: 'free' };
      profiles.verified.add(rider.userId);
      const carId = uuidV7Ids.next();
      cars.add(carId, 'compact');
      cars.report(carId, { at: clock.now(), ...berlinCentre });
      const tariff = tariffFor(settings.get().tariffs, 'compact');

      /** A reservation of the car, extended once for 150 cents, the car held under it. */
      async function extendedReservation() {
        const reservation = newReservation({ id: uuidV7Ids.next(), riderId: rider.userId, carId, now: clock.now(), holdMinutes: 15 });
        await reservations.insert(reservation);
        await cars.claim({ carId, reservationId: reservation.id }, { riderId: rider.userId });
        const outcome = extendReservation(reservation, { now: clock.now(), minutes: 10, feeCents: 150, currency: 'EUR' });
        assert.ok('extended' in outcome);
        assert.equal(await reservations.extend(outcome.extended, clock.now()), true);
        return reservation;
      }

      /** Every capture of the reservation's own fee payment (charged alone), at the fake payment service. */
      const feeCaptures = (reservationId: string) => payments.payments.get(extensionFeeReference(reservationId))?.captures ?? [];

      return { clock, cars, profiles, payments, settings, runner, startSaga, reservations, service, startTrip, finishTrip, queries, rider, carId, tariff, extendedReservation, feeCaptures };
    }

    it('an extended reservation that became a trip: the fee is a receipt line, in the captured total, no longer owed alone', async () => {
      const { clock, cars, payments, reservations, startTrip, finishTrip, queries, rider, carId, tariff, extendedReservation } = setUp();
      const reservation = await extendedReservation();

      const trip = await startTrip({ reservationId: reservation.id }, rider);
      clock.advance(3 * minute);
      cars.report(carId, { at: clock.now(), ...berlinCentre });
      const finished = await finishTrip({ tripId: trip.id }, rider);
      assert.equal(finished.status, 'finished');

      const tripCents = tariff.unlockFeeCents + 3 * tariff.drivingPerMinuteCents;
      const receipt = await queries.getReceipt({ tripId: trip.id }, rider);
      assert.deepEqual(receipt.feeLines, [{ code: 'reservation_extension', description: 'Reservation extended by 10 min', quantity: 1, unitCents: 150, cents: 150 }]);
      assert.equal(receipt.totalCents, tripCents + 150);
      assert.deepEqual(payments.allCaptures(), [tripCents + 150], 'captured with the trip, once');
      assert.equal((await reservations.find(reservation.id))?.feeStatus, 'on_trip');
      assert.equal((await reservations.feesOwed(1_000)).some((candidate) => candidate.id === reservation.id), false, 'never charged alone as well');
      assert.match(pdfText(await renderReceiptPdf(receipt)), /Reservation extended by 10 min/, 'the PDF carries the line');
    });

    it('a fee settled alone while the finish priced the trip: priced again without it, so it is never both on the receipt and charged alone', async () => {
      const watched: { reservationId?: string } = {};
      let settledMeanwhile = false;
      const context = setUp({
        // Between the price step's read (fee owed) and its batch, the fee is settled elsewhere
        // (charged alone after a failed start, say): the step's guard on the settlement fails.
        beforeBatch: async (statements) => {
          if (settledMeanwhile || watched.reservationId === undefined || !statements.some((statement) => sqlOf(statement).includes('extension_fee_status'))) return;
          settledMeanwhile = true;
          assert.equal(await context.reservations.settleFee(watched.reservationId, 'charged'), true);
        },
      });
      const { clock, cars, payments, reservations, startTrip, finishTrip, queries, rider, carId, tariff, extendedReservation } = context;
      const reservation = await extendedReservation();
      const trip = await startTrip({ reservationId: reservation.id }, rider);
      watched.reservationId = reservation.id;
      clock.advance(3 * minute);
      cars.report(carId, { at: clock.now(), ...berlinCentre });
      const finished = await finishTrip({ tripId: trip.id }, rider);
      assert.equal(finished.status, 'finished');
      assert.ok(settledMeanwhile, 'the fee was settled between the read and the batch');

      const tripCents = tariff.unlockFeeCents + 3 * tariff.drivingPerMinuteCents;
      const receipt = await queries.getReceipt({ tripId: trip.id }, rider);
      assert.deepEqual(receipt.feeLines, [], 'not on the receipt: it was charged alone');
      assert.equal(receipt.totalCents, tripCents);
      assert.deepEqual(payments.allCaptures(), [tripCents]);
      assert.equal((await reservations.find(reservation.id))?.feeStatus, 'charged');
    });

    it('the live fee of a trip from an extended reservation includes the fee, and the receipt total equals the last estimate', async () => {
      const { clock, cars, reservations, startTrip, finishTrip, queries, rider, carId, tariff, extendedReservation } = setUp();
      const reservation = await extendedReservation();
      const trip = await startTrip({ reservationId: reservation.id }, rider);
      // Four minutes and about 1.1 km east inside the home zone, reported by the car.
      for (let step = 1; step <= 4; step += 1) {
        clock.advance(minute);
        cars.report(carId, { at: clock.now(), lat: berlinCentre.lat, lng: berlinCentre.lng + step * 0.004 });
      }
      const view = await queries.getTripView({ tripId: trip.id }, rider);
      const live = view.liveFee;
      assert.ok(live);
      assert.ok(live.distanceM > 1_000, `driven ${live.distanceM} m`);
      const metered = priceTrip(tariff, { drivingMs: 4 * minute, parkingMs: 0, distanceM: live.distanceM, fees: [] }).totalCents;
      assert.equal(live.estimateCents, metered + 150, 'the extension fee is in the running fee');
      assert.equal(live.extensionFeeCents, 150, 'and named, so the rider sees why');
      assert.equal((await reservations.find(reservation.id))?.feeStatus, 'owed', 'reading the estimate settles nothing');

      const finished = await finishTrip({ tripId: trip.id }, rider);
      assert.equal(finished.status, 'finished');
      const receipt = await queries.getReceipt({ tripId: trip.id }, rider);
      assert.equal(receipt.totalCents, live.estimateCents, 'the receipt agrees with the last estimate for the same minutes and km');
    });

    it("a start that fails on the rider's side (deposit declined): the fee is charged alone, once, however often it is settled again", async () => {
      const { payments, reservations, service, startTrip, rider, extendedReservation, feeCaptures } = setUp();
      const reservation = await extendedReservation();
      payments.failNext('authorize', Conflict('PAYMENT_DECLINED', 'card declined'));
      await assert.rejects(startTrip({ reservationId: reservation.id }, rider), { reason: 'PAYMENT_DECLINED' });
      assert.deepEqual(feeCaptures(reservation.id), [150], 'charged at the failure');
      assert.equal((await reservations.find(reservation.id))?.feeStatus, 'charged');

      // The settlement run again (a retried request, a sweep racing it): nothing more.
      await service.settleFeeOfFailedStart(reservation.id, 'PAYMENT_DECLINED', undefined);
      await service.chargeOwedFees();
      assert.deepEqual(feeCaptures(reservation.id), [150], 'still one charge');
      assert.deepEqual(payments.allCaptures(), [150], 'and nothing else captured');
    });

    it('a start that fails on our side (the car never unlocked): the fee is waived, never charged', async () => {
      const { cars, payments, reservations, service, startTrip, rider, extendedReservation } = setUp();
      const reservation = await extendedReservation();
      cars.failNext('unlock', DeadlineExceeded('DEVICE_DID_NOT_ANSWER', 'no ack'));
      await assert.rejects(startTrip({ reservationId: reservation.id }, rider), { reason: 'DEVICE_DID_NOT_ANSWER' });
      assert.equal((await reservations.find(reservation.id))?.feeStatus, 'waived');
      await service.chargeOwedFees();
      assert.equal(payments.payments.has(extensionFeeReference(reservation.id)), false, 'no fee payment');
      assert.deepEqual(payments.allCaptures(), []);
    });

    it('a failed start left unsettled (compensated by recovery after a crash): the sweep charges the fee once, swept twice', async () => {
      const { profiles, runner, startSaga, reservations, service, rider, carId, extendedReservation, feeCaptures } = setUp();
      const reservation = await extendedReservation();
      await reservations.end({ ...reservation, status: 'converted', endedAt: Date.now() });
      // The saga alone, as SagaRunner.recover drives it: the use case never settles the fee.
      profiles.verified.delete(rider.userId);
      const tripId = uuidV7Ids.next();
      const outcome = await runner.run(startSaga, { tripId, riderId: rider.userId, carId, reservationId: reservation.id }, { id: tripId });
      assert.equal(outcome.status, 'compensated');
      assert.equal((await reservations.find(reservation.id))?.feeStatus, 'owed');

      const first = await service.chargeOwedFees();
      const second = await service.chargeOwedFees();
      assert.deepEqual([first.failed, second.failed], [[], []]);
      assert.deepEqual(feeCaptures(reservation.id), [150], 'one charge over two sweeps');
      assert.equal((await reservations.find(reservation.id))?.feeStatus, 'charged');
    });

    it('a failed start of ours left unsettled: the sweep waives it; a later trip from the same hold does not carry it', async () => {
      const { clock, cars, payments, runner, startSaga, reservations, service, startTrip, finishTrip, queries, rider, carId, tariff, extendedReservation } = setUp();
      const reservation = await extendedReservation();
      await reservations.end({ ...reservation, status: 'converted', endedAt: Date.now() });
      cars.failNext('unlock', DeadlineExceeded('DEVICE_DID_NOT_ANSWER', 'no ack'));
      const tripId = uuidV7Ids.next();
      assert.equal((await runner.run(startSaga, { tripId, riderId: rider.userId, carId, reservationId: reservation.id }, { id: tripId })).status, 'compensated');
      await service.chargeOwedFees();
      assert.equal((await reservations.find(reservation.id))?.feeStatus, 'waived');

      // The rider tries again from the same (converted) reservation, and this time it opens.
      const trip = await startTrip({ reservationId: reservation.id }, rider);
      clock.advance(2 * minute);
      cars.report(carId, { at: clock.now(), ...berlinCentre });
      assert.equal((await queries.getTripView({ tripId: trip.id }, rider)).liveFee?.estimateCents, tariff.unlockFeeCents + 2 * tariff.drivingPerMinuteCents, 'no waived fee in the estimate');
      await finishTrip({ tripId: trip.id }, rider);
      assert.deepEqual((await queries.getReceipt({ tripId: trip.id }, rider)).feeLines, [], 'nor on the receipt');
      assert.deepEqual(payments.allCaptures(), [tariff.unlockFeeCents + 2 * tariff.drivingPerMinuteCents]);
    });
  });
}

describeExtensionFee('PGlite', undefined);
if (process.env.DATABASE_URL) describeExtensionFee('PostgreSQL', process.env.DATABASE_URL);
