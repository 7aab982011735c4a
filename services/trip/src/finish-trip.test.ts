import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { berlinCentre, defaultCityOptions, offsetByMetres } from '@carshare/city';
import { createEventFactory, migrateMessagingTables } from '@carshare/messaging';
import { AppError, DeadlineExceeded, LiveConfig, Unavailable, uuidV7Ids, type Caller } from '@carshare/platform';
import { migrateSagaTables, SagaRunner } from '@carshare/saga';
import { openTestDatabase, type ServiceDatabase, type TestDatabase } from '@carshare/storage';
import { FakeClock } from '@carshare/testing';
import { SqlReservationStore } from './adapters/sql-reservation-store.ts';
import { SqlTripLog } from './adapters/sql-trip-log.ts';
import type { TripDatabase } from './adapters/trip-database.ts';
import { loadTripConfig, tariffFor } from './config.ts';
import { haversineM } from './domain/route.ts';
import { createFinishTrip, defineFinishTripSaga, retryPendingCaptures } from './finish-trip.ts';
import { settingsOf, tripMigrationsDir } from './module.ts';
import { createParking, definePauseTripSaga, defineResumeTripSaga } from './pause-trip.ts';
import { createStartTrip, defineStartTripSaga } from './start-trip.ts';
import { FakeCars, FakePayments, FakeProfiles } from './testing/fake-cars.ts';
import { sqlOf, withBatchHook, type BeforeBatch } from './testing/batch-hook.ts';
import { recordingOutbox } from './testing/recording-outbox.ts';
import { formatMoney, renderReceiptPdf } from './receipt-pdf.ts';
import type { CarPort } from './ports.ts';
import { createTripQueries } from './trip-queries.ts';

/** The text pdfkit wrote: its uncompressed content streams show text as hex strings in TJ arrays. */
function pdfText(pdf: Buffer): string {
  const source = pdf.toString('latin1');
  const parts: string[] = [];
  for (const match of source.matchAll(/\[((?:<[0-9a-fA-F]*>\s*-?[\d.]*\s*)+)\]\s*TJ/g)) {
    const hexes = [...(match[1] ?? '').matchAll(/<([0-9a-fA-F]*)>/g)].map((hex) => Buffer.from(hex[1] ?? '', 'hex').toString('latin1'));
    parts.push(hexes.join(''));
  }
  return parts.join('\n');
}

// The finish, pause and resume sagas on a real saga log and trip log (PGlite, or PostgreSQL with
// DATABASE_URL), with fakes of the car and payment services, a fault at each step, and a fake
// clock so minutes are exact.

const minute = 60_000;
const citySizeM = defaultCityOptions.sizeKm * 1000;
const home = (eastM: number, northM = 0) => offsetByMetres(berlinCentre, eastM, northM);
/** 800 m east of the home zone's edge (it reaches citySize/2 + 200 m), well short of the airport. */
const outside = () => offsetByMetres(berlinCentre, citySizeM / 2 + 1_000, 0);
const airport = () => offsetByMetres(berlinCentre, citySizeM / 2 + 3_000, 0);

function rejectsWith(reason: string, status: number) {
  return (error: unknown) => {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.reason, reason, error.message);
    assert.equal(error.httpStatus, status, `${error.reason} answers ${error.httpStatus}`);
    return true;
  };
}

function describeFinishTrip(name: string, databaseUrl: string | undefined) {
  describe(`finish, pause and resume sagas (${name})`, () => {
    let test: TestDatabase;
    let db: ServiceDatabase<TripDatabase>;
    before(async () => {
      test = await openTestDatabase({
        databaseUrl,
        schemaPrefix: 'trip_finish',
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
    async function setUp(category = 'compact', beforeBatch?: BeforeBatch) {
      const clock = new FakeClock('2026-12-04T10:00:00.000Z');
      const cars = new FakeCars();
      const profiles = new FakeProfiles();
      const payments = new FakePayments();
      const settings = new LiveConfig(settingsOf(loadTripConfig()));
      const { outbox, published } = recordingOutbox(db);
      const events = createEventFactory({ source: 'trip', clock, ids: uuidV7Ids });
      const startSaga = defineStartTripSaga({ cars, profiles, payments, settings, clock, events, outbox });
      const finishSaga = defineFinishTripSaga({ db: db.db, cars, payments, settings, clock, events, outbox });
      const pauseSaga = definePauseTripSaga({ cars, clock, events, outbox });
      const resumeSaga = defineResumeTripSaga({ cars, clock, events, outbox });
      const runner = new SagaRunner({ database: withBatchHook(db, beforeBatch), sagas: [startSaga, finishSaga, pauseSaga, resumeSaga], clock });
      const reservations = new SqlReservationStore(db.db);
      const startTrip = createStartTrip({ db: db.db, transact: (work) => db.transaction((trx) => work(trx as never)), events, outbox, runner, saga: startSaga, reservations, clock, ids: uuidV7Ids });
      const finishTrip = createFinishTrip({ db: db.db, runner, saga: finishSaga, cars, settings, ids: uuidV7Ids, clock });
      const parking = createParking({ db: db.db, runner, pause: pauseSaga, resume: resumeSaga, ids: uuidV7Ids });
      const queries = createTripQueries({ db: db.db, cars, runner, settings, clock });
      const carId = uuidV7Ids.next();
      cars.add(carId, category);
      const rider: Caller = { userId: uuidV7Ids.next(), role: 'rider', plan: 'free' };
      profiles.verified.add(rider.userId);
      const log = new SqlTripLog(db.db);
      /** The car reports where it is now. */
      const report = (position: { lat: number; lng: number }, energyPct?: number) => cars.report(carId, { at: clock.now(), ...position }, energyPct);
      report(home(0));
      const trip = await startTrip({ carId }, rider);
      const tariff = tariffFor(settings.get().tariffs, category as 'compact');
      return { clock, cars, payments, settings, published, runner, finishTrip, parking, queries, carId, rider, log, report, trip, tariff };
    }

    it('a trip that changed between the finish’s read and its write (a pause and resume) is read again and priced as it is now', async () => {
      const watched: { tripId?: string } = {};
      let changedMeanwhile = false;
      const context = await setUp('compact', async (statements) => {
        if (changedMeanwhile || watched.tripId === undefined || !statements.some((statement) => sqlOf(statement).includes('"finish_saga_id"'))) return;
        changedMeanwhile = true;
        // A resume lands first: the trip is running again, with two parking minutes behind it.
        assert.ok(await new SqlTripLog(db.db).change(watched.tripId, ['in_progress'], 'in_progress', { type: 'trip.resumed', data: {} }, { paused_ms: 2 * minute }, Date.now()));
      });
      const { clock, report, finishTrip, trip, rider, tariff, log } = context;
      watched.tripId = trip.id;
      clock.advance(6 * minute);
      report(home(0));
      const finished = await finishTrip({ tripId: trip.id }, rider);
      assert.ok(changedMeanwhile);
      assert.equal(finished.status, 'finished');
      const priced = (await log.events(trip.id)).find((event) => event.type === 'trip.priced');
      assert.deepEqual([priced?.data['drivingMs'], priced?.data['parkingMs']], [4 * minute, 2 * minute], 'the parking minutes the plan read again');
      assert.equal(finished.price?.totalCents, tariff.unlockFeeCents + 4 * tariff.drivingPerMinuteCents + 2 * tariff.parkingPerMinuteCents);
    });

    it('finishes inside the home zone: locked, priced from telemetry and the trip tariff, captured once, finished with its event', async () => {
      const context = await setUp();
      const { clock, report, finishTrip, trip, rider, cars, payments, carId, tariff, log, published } = context;
      clock.advance(5 * minute);
      report(home(1_000));
      clock.advance(4 * minute + 10_000);
      report(home(1_000, 1_000));
      const finished = await finishTrip({ tripId: trip.id }, rider);
      assert.equal(finished.status, 'finished');
      assert.equal(finished.paymentStatus, 'captured');
      assert.equal(cars.cars.get(carId)?.state, 'available', 'the lock freed the car');
      const expectedM = haversineM(home(0), home(1_000)) + haversineM(home(1_000), home(1_000, 1_000));
      assert.ok(Math.abs((finished.distanceM ?? 0) - expectedM) < 0.001, `distance ${finished.distanceM} from telemetry, ${expectedM} expected`);
      // 9 min 10 s of driving is 10 started minutes; no km price for a compact.
      const expected = tariff.unlockFeeCents + 10 * tariff.drivingPerMinuteCents;
      assert.equal(finished.price?.totalCents, expected);
      assert.deepEqual(payments.allCaptures(), [expected], 'one capture of the price');
      assert.equal(finished.endZoneId, 'home-city');
      assert.deepEqual(
        (await log.events(trip.id)).map((event) => event.type),
        ['trip.requested', 'trip.started', 'trip.finish_requested', 'trip.priced', 'trip.finished'],
      );
      const written = await published(trip.id);
      assert.deepEqual(written.map((event) => event.type), ['trip.started', 'trip.finished']);
      assert.equal((written[1]?.data as { totalCents: number }).totalCents, expected);
      assert.deepEqual(
        cars.calls.filter((call) => call.method === 'getCar' || call.method === 'lock').map((call) => call.method),
        ['getCar', 'lock'],
        "the car is read once: the request's zone check, which the saga judges from and locks by",
      );
    });

    it("judges the end from the request's read of the car only while it is fresh, else from the car's report then", async () => {
      const context = await setUp();
      const { clock, trip, rider, cars, payments, log, carId, settings } = context;
      clock.advance(minute);
      // The read answers slowly, and the car drives out of the zone meanwhile.
      let delayMs = 6_000;
      const slowCars: CarPort = {
        claim: (input, on) => cars.claim(input, on),
        release: (input, on) => cars.release(input, on),
        unlock: (input, on) => cars.unlock(input, on),
        lock: (input, on) => cars.lock(input, on),
        telemetrySince: (id, since, on) => cars.telemetrySince(id, since, on),
        getCar: async (id, on) => {
          const car = await cars.getCar(id, on);
          cars.report(carId, { at: clock.now(), ...outside() });
          clock.advance(delayMs);
          return car;
        },
      };
      const finishSaga = defineFinishTripSaga({ db: db.db, cars: slowCars, payments, settings, clock, events: createEventFactory({ source: 'trip', clock, ids: uuidV7Ids }), outbox: recordingOutbox(db).outbox });
      const runner = new SagaRunner({ database: db, sagas: [finishSaga], clock });
      const finish = createFinishTrip({ db: db.db, runner, saga: finishSaga, cars: slowCars, settings, ids: uuidV7Ids, clock });
      await assert.rejects(finish({ tripId: trip.id }, rider), rejectsWith('OUTSIDE_OPERATING_AREA', 409));
      assert.equal(cars.calls.filter((call) => call.method === 'getCar').length, 2, 'a read 6 s old is read again');
      assert.equal((await log.find(trip.id))?.status, 'in_progress');

      // Back in the zone; a read 1 s old is the one the saga judges from.
      context.report(home(500));
      delayMs = 1_000;
      const calls = cars.calls.length;
      const finished = await finish({ tripId: trip.id }, rider);
      assert.equal(finished.status, 'finished');
      assert.equal(finished.endZoneId, 'home-city');
      assert.deepEqual(
        cars.calls.slice(calls).filter((call) => call.method === 'getCar').length,
        1,
      );
      assert.equal(payments.allCaptures().length, 1);
    });

    it('finishing again, one after the other and at once, answers the finished trip and never captures twice', async () => {
      const { clock, finishTrip, trip, rider, payments } = await setUp();
      clock.advance(3 * minute);
      const results = await Promise.allSettled([finishTrip({ tripId: trip.id }, rider), finishTrip({ tripId: trip.id }, rider)]);
      for (const result of results) {
        if (result.status === 'rejected') assert.ok(result.reason instanceof AppError && result.reason.reason === 'TRIP_FINISH_IN_PROGRESS', String(result.reason));
      }
      assert.ok(results.some((result) => result.status === 'fulfilled' && result.value.status === 'finished'));
      const again = await finishTrip({ tripId: trip.id }, rider);
      assert.equal(again.status, 'finished');
      assert.equal(payments.allCaptures().length, 1, 'one capture');
    });

    it('keeps the tariff the trip started with when the table changes mid-trip', async () => {
      const { clock, finishTrip, trip, rider, settings, tariff } = await setUp();
      const table = settings.get().tariffs;
      settings.set({ ...settings.get(), tariffs: { version: 'doubled', byCategory: { ...table.byCategory, compact: { ...table.byCategory.compact, drivingPerMinuteCents: table.byCategory.compact.drivingPerMinuteCents * 2 } } } });
      clock.advance(2 * minute);
      const finished = await finishTrip({ tripId: trip.id }, rider);
      assert.equal(finished.price?.totalCents, tariff.unlockFeeCents + 2 * tariff.drivingPerMinuteCents);
      assert.equal(finished.price?.tariffVersion, tariff.version);
    });

    it('outside every zone: 409 with the nearest allowed zone and its distance; the trip goes on, nothing locked or charged', async () => {
      const { clock, report, finishTrip, trip, rider, cars, carId, payments, log } = await setUp();
      clock.advance(minute);
      report(outside());
      await assert.rejects(finishTrip({ tripId: trip.id }, rider), (error: unknown) => {
        assert.ok(error instanceof AppError && error.reason === 'OUTSIDE_OPERATING_AREA', String(error));
        assert.equal(error.httpStatus, 409);
        const nearest = error.details?.['nearestZone'] as { zoneId: string; distanceM: number };
        assert.equal(nearest.zoneId, 'home-city');
        assert.ok(Math.abs(nearest.distanceM - 800) < 5, `nearest ${nearest.distanceM} m`);
        return true;
      });
      assert.equal((await log.find(trip.id))?.status, 'in_progress');
      assert.equal(cars.cars.get(carId)?.state, 'in_use');
      assert.deepEqual(payments.allCaptures(), []);
    });

    it('in the airport drop-off zone with a low battery: both fees are lines of the price', async () => {
      const { clock, report, finishTrip, trip, rider, settings, tariff } = await setUp();
      clock.advance(minute);
      report(airport(), 5);
      const finished = await finishTrip({ tripId: trip.id }, rider);
      assert.equal(finished.endZoneId, 'dropoff-airport');
      const fees = finished.price?.feeLines.map((line) => [line.code, line.cents]);
      assert.deepEqual(fees, [
        ['dropoff_zone', 990],
        ['low_energy', settings.get().lowEnergy.feeCents],
      ]);
      assert.equal(finished.price?.totalCents, tariff.unlockFeeCents + tariff.drivingPerMinuteCents + 990 + settings.get().lowEnergy.feeCents);
    });

    it('the device never acks the lock: 504 DEVICE_DID_NOT_ANSWER, the trip goes on, and a later finish works', async () => {
      const { clock, finishTrip, trip, rider, cars, carId, payments, log } = await setUp();
      clock.advance(minute);
      cars.failNext('lock', DeadlineExceeded('DEVICE_DID_NOT_ANSWER', 'no ack'));
      await assert.rejects(finishTrip({ tripId: trip.id }, rider), rejectsWith('DEVICE_DID_NOT_ANSWER', 504));
      assert.equal((await log.find(trip.id))?.status, 'in_progress');
      assert.equal(cars.cars.get(carId)?.state, 'in_use');
      assert.deepEqual(payments.allCaptures(), []);
      const finished = await finishTrip({ tripId: trip.id }, rider);
      assert.equal(finished.status, 'finished');
      assert.equal(payments.allCaptures().length, 1);
    });

    it('the car service is down: 503, the trip goes on', async () => {
      const { finishTrip, trip, rider, cars, log } = await setUp();
      cars.failNext('telemetrySince', Unavailable('CAR_SERVICE_UNAVAILABLE', 'down'));
      await assert.rejects(finishTrip({ tripId: trip.id }, rider), rejectsWith('CAR_SERVICE_UNAVAILABLE', 503));
      assert.equal((await log.find(trip.id))?.status, 'in_progress');
    });

    it('a failed capture still finishes the trip with payment pending; the retry sweep captures it once', async () => {
      const { clock, finishTrip, trip, rider, payments, log } = await setUp();
      clock.advance(minute);
      payments.failNext('capture', Unavailable('PAYMENT_SERVICE_UNAVAILABLE', 'down'));
      const finished = await finishTrip({ tripId: trip.id }, rider);
      assert.equal(finished.status, 'finished');
      assert.equal(finished.paymentStatus, 'pending');
      assert.deepEqual(payments.allCaptures(), []);
      await retryPendingCaptures({ db: db.db, payments, clock });
      await retryPendingCaptures({ db: db.db, payments, clock });
      assert.equal((await log.find(trip.id))?.paymentStatus, 'captured');
      assert.deepEqual(payments.allCaptures(), [finished.price?.totalCents]);
    });

    it('pause locks and holds the car, parking minutes bill at the parking rate, resume unlocks; a paused trip can finish', async () => {
      const { clock, finishTrip, parking, trip, rider, cars, carId, tariff, published } = await setUp();
      clock.advance(2 * minute);
      const paused = await parking.pauseTrip({ tripId: trip.id }, rider);
      assert.equal(paused.status, 'paused');
      assert.equal(cars.cars.get(carId)?.state, 'reserved', 'locked and still held for the trip');
      assert.equal(cars.cars.get(carId)?.locked, true);
      clock.advance(10 * minute);
      const resumed = await parking.resumeTrip({ tripId: trip.id }, rider);
      assert.equal(resumed.status, 'in_progress');
      assert.equal(resumed.pausedMs, 10 * minute);
      assert.equal(cars.cars.get(carId)?.state, 'in_use');
      clock.advance(3 * minute);
      await parking.pauseTrip({ tripId: trip.id }, rider);
      clock.advance(5 * minute);
      const finished = await finishTrip({ tripId: trip.id }, rider);
      assert.equal(finished.status, 'finished');
      assert.equal(cars.cars.get(carId)?.state, 'available');
      assert.equal(finished.price?.totalCents, tariff.unlockFeeCents + 5 * tariff.drivingPerMinuteCents + 15 * tariff.parkingPerMinuteCents);
      assert.deepEqual((await published(trip.id)).map((event) => event.type), ['trip.started', 'trip.paused', 'trip.resumed', 'trip.paused', 'trip.finished']);
    });

    it('a pause whose lock is not acknowledged: 504, the trip keeps driving at the driving rate', async () => {
      const { parking, trip, rider, cars, carId, log } = await setUp();
      cars.failNext('lock', DeadlineExceeded('DEVICE_DID_NOT_ANSWER', 'no ack'));
      await assert.rejects(parking.pauseTrip({ tripId: trip.id }, rider), rejectsWith('DEVICE_DID_NOT_ANSWER', 504));
      const after = await log.find(trip.id);
      assert.equal(after?.status, 'in_progress');
      assert.equal(after?.pausedSince, undefined);
      assert.equal(cars.cars.get(carId)?.state, 'in_use');
    });

    it('a resume whose unlock is not acknowledged: 504, still paused from when the pause began', async () => {
      const { clock, parking, trip, rider, cars, log } = await setUp();
      await parking.pauseTrip({ tripId: trip.id }, rider);
      const pausedAt = clock.now();
      clock.advance(minute);
      cars.failNext('unlock', DeadlineExceeded('DEVICE_DID_NOT_ANSWER', 'no ack'));
      await assert.rejects(parking.resumeTrip({ tripId: trip.id }, rider), rejectsWith('DEVICE_DID_NOT_ANSWER', 504));
      const after = await log.find(trip.id);
      assert.equal(after?.status, 'paused');
      assert.equal(after?.pausedSince, pausedAt);
      assert.equal(after?.pausedMs, 0);
    });

    it('a finished trip has a receipt: every line, the package cap, fees, VAT, the deposit released; as JSON and as a PDF with the total', async () => {
      const { clock, report, finishTrip, queries, trip, rider, tariff, settings } = await setUp('van');
      await assert.rejects(queries.getReceipt({ tripId: trip.id }, rider), rejectsWith('TRIP_NOT_FINISHED', 409));
      // Five hours in a van: the day package is cheaper than the minutes.
      clock.advance(60 * minute);
      report(home(2_000));
      clock.advance(4 * 60 * minute);
      report(airport(), 4);
      const finished = await finishTrip({ tripId: trip.id }, rider);
      const receipt = await queries.getReceipt({ tripId: trip.id }, rider);
      assert.deepEqual(receipt.meteredLines.map((line) => line.code), ['unlock', 'driving', 'parking', 'distance']);
      assert.equal(receipt.meteredLines[1]?.quantity, 300);
      assert.equal(receipt.packageApplied?.name, 'day');
      assert.ok((receipt.packageApplied?.savedCents ?? 0) > 0);
      assert.deepEqual(receipt.feeLines.map((line) => line.code), ['dropoff_zone', 'low_energy']);
      const day = tariff.packages.find((pkg) => pkg.name === 'day');
      assert.equal(receipt.totalCents, (day?.priceCents ?? 0) + 990 + settings.get().lowEnergy.feeCents);
      assert.equal(receipt.totalCents, finished.price?.totalCents);
      assert.equal(receipt.vatCents, Math.round((receipt.totalCents * 0.19) / 1.19));
      assert.equal(receipt.depositReleasedCents, Math.max(0, finished.depositCents - receipt.totalCents));
      assert.equal(receipt.extraChargeCents, Math.max(0, receipt.totalCents - finished.depositCents));

      const pdf = await renderReceiptPdf(receipt);
      assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
      const text = pdfText(pdf);
      assert.ok(text.includes(formatMoney(receipt.totalCents, 'EUR')), `the total ${formatMoney(receipt.totalCents, 'EUR')} is on the page: ${text}`);
      assert.ok(text.includes('Package cap applied: 1 x day'), text);
      assert.ok(text.includes('Deposit released'), text);
    });

    it('the live fee of a running trip: minutes, parking, telemetry distance, by the trip tariff', async () => {
      const { clock, report, parking, queries, trip, rider, tariff } = await setUp();
      clock.advance(4 * minute);
      report(home(500));
      await parking.pauseTrip({ tripId: trip.id }, rider);
      clock.advance(2 * minute + 1);
      const view = await queries.getTripView({ tripId: trip.id }, rider);
      assert.equal(view.liveFee?.drivingMinutes, 4);
      assert.equal(view.liveFee?.parkingMinutes, 3);
      assert.ok(Math.abs((view.liveFee?.distanceM ?? 0) - haversineM(home(0), home(500))) < 0.001);
      assert.equal(view.liveFee?.estimateCents, tariff.unlockFeeCents + 4 * tariff.drivingPerMinuteCents + 3 * tariff.parkingPerMinuteCents);
    });

    it('lists: mine newest first with a cursor; staff filter by status, car and time; the timeline has the events and the sagas', async () => {
      const first = await setUp();
      const { finishTrip, queries, rider, clock } = first;
      await finishTrip({ tripId: first.trip.id }, rider);
      // Another rider's finished trip on another car: every filter below must leave it out.
      const other = await setUp();
      await other.finishTrip({ tripId: other.trip.id }, other.rider);
      const staff: Caller = { userId: uuidV7Ids.next(), role: 'operator', plan: 'free' };
      const page = await queries.listMyTrips({ limit: 1 }, rider);
      assert.deepEqual(page.items.map((trip) => trip.id), [first.trip.id]);
      assert.equal(page.nextCursor, undefined);
      await assert.rejects(queries.listTrips({ limit: 10 }, rider), rejectsWith('STAFF_ONLY', 403));
      const byCar = await queries.listTrips({ limit: 10, carId: first.carId, status: 'finished' }, staff);
      assert.deepEqual(byCar.items.map((trip) => trip.id), [first.trip.id]);
      const before = await queries.listTrips({ limit: 10, carId: first.carId, to: new Date(clock.now() - 60 * minute).toISOString() }, staff);
      assert.deepEqual(before.items, []);
      await assert.rejects(queries.listTrips({ limit: 10, from: '2026-12-05T00:00:00.000Z', to: '2026-12-04T00:00:00.000Z' }, staff), rejectsWith('INVALID_TIME_RANGE', 400));
      const timeline = await queries.getTimeline({ tripId: first.trip.id }, staff);
      assert.deepEqual(timeline.events.map((event) => event.seq), [1, 2, 3, 4, 5]);
      assert.deepEqual(timeline.sagas.map((saga) => [saga.name, saga.status]), [['trip.start', 'completed'], ['trip.finish', 'completed']]);
      assert.deepEqual(timeline.sagas[1]?.steps.map((step) => step.name), ['begin-finishing', 'check-zone', 'measure-route', 'lock-car', 'price', 'capture', 'finish']);
    });

    it('an instance that dies in the middle of the lock: another takes the finish over, calls the lock again, and finishes with one capture', async () => {
      const context = await setUp();
      const { clock, trip, rider, cars, payments, settings, log, carId } = context;
      clock.advance(3 * minute);
      // Instance A: its lock reaches the car but never returns (the process is gone).
      let lockReached: () => void = () => {};
      const reached = new Promise<void>((resolve) => (lockReached = resolve));
      let unfreeze: () => void = () => {};
      const frozen = new Promise<void>((resolve) => (unfreeze = resolve));
      const stalledCars: CarPort = {
        claim: (input, on) => cars.claim(input, on),
        release: (input, on) => cars.release(input, on),
        unlock: (input, on) => cars.unlock(input, on),
        getCar: (id, on) => cars.getCar(id, on),
        telemetrySince: (id, since, on) => cars.telemetrySince(id, since, on),
        lock: async (input, on) => {
          await cars.lock(input, on);
          lockReached();
          await frozen;
        },
      };
      const events = createEventFactory({ source: 'trip', clock, ids: uuidV7Ids });
      const { outbox } = recordingOutbox(db);
      const clockA = new FakeClock(clock.now());
      const sagaA = defineFinishTripSaga({ db: db.db, cars: stalledCars, payments, settings, clock: clockA, events, outbox });
      const runnerA = new SagaRunner({ database: db, sagas: [sagaA], clock: clockA, instanceId: 'instance-a', leaseMs: 30_000 });
      const finishA = createFinishTrip({ db: db.db, runner: runnerA, saga: sagaA, cars: stalledCars, settings, ids: uuidV7Ids, clock: clockA });
      const first = finishA({ tripId: trip.id }, rider);
      await reached;
      assert.equal((await log.find(trip.id))?.status, 'finishing');

      // Instance B, after A's lease ran out: recovers the saga and drives it to its end.
      const clockB = new FakeClock(clock.now() + 60 * minute);
      const sagaB = defineFinishTripSaga({ db: db.db, cars, payments, settings, clock: clockB, events, outbox });
      const runnerB = new SagaRunner({ database: db, sagas: [sagaB], clock: clockB, instanceId: 'instance-b', leaseMs: 30_000 });
      const callsBefore = cars.calls.length;
      const report = await runnerB.recover();
      assert.equal(report.completed, 1, JSON.stringify(report));
      assert.deepEqual(
        cars.calls.slice(callsBefore).map((call) => call.method),
        ['lock', 'getCar'],
        'the lock again, refused (the car is free already, A locked it), then the car read to decide',
      );
      const finished = await log.find(trip.id);
      assert.equal(finished?.status, 'finished');
      assert.equal(cars.cars.get(carId)?.state, 'available');
      assert.deepEqual(payments.allCaptures(), [finished?.price?.totalCents]);
      // Priced to when the rider asked (recorded by A), not to when B took over.
      assert.equal(finished?.finishedAt, clock.now());

      // A wakes up: it may not record over B, and its rider is told the finish is in hand.
      unfreeze();
      await assert.rejects(first, rejectsWith('TRIP_FINISH_IN_PROGRESS', 503));
      assert.equal(payments.allCaptures().length, 1);
      const again = await createFinishTrip({ db: db.db, runner: runnerB, saga: sagaB, cars, settings, ids: uuidV7Ids, clock: clockB })({ tripId: trip.id }, rider);
      assert.equal(again.status, 'finished');
      await runnerA.stop();
      await runnerB.stop();
    });

    it("someone else's trip is not found", async () => {
      const { finishTrip, trip } = await setUp();
      const stranger: Caller = { userId: uuidV7Ids.next(), role: 'rider', plan: 'free' };
      await assert.rejects(finishTrip({ tripId: trip.id }, stranger), rejectsWith('TRIP_NOT_FOUND', 404));
    });
  });
}

describeFinishTrip('PGlite', undefined);
if (process.env.DATABASE_URL) describeFinishTrip('PostgreSQL', process.env.DATABASE_URL);
