import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { berlinCentre } from '@carshare/city';
import type { EventEnvelope } from '@carshare/contracts';
import { createEventFactory } from '@carshare/messaging';
import { LiveConfig, uuidV7Ids, type Caller } from '@carshare/platform';
import { migrateSagaTables, SagaRunner } from '@carshare/saga';
import { openTestDatabase, type ServiceDatabase, type TestDatabase } from '@carshare/storage';
import { FakeClock } from '@carshare/testing';
import { SqlReservationStore } from './adapters/sql-reservation-store.ts';
import type { TripDatabase } from './adapters/trip-database.ts';
import { loadTripConfig, tariffFor } from './config.ts';
import { extendReservation, newReservation } from './domain/reservation.ts';
import { createFinishTrip, defineFinishTripSaga } from './finish-trip.ts';
import { settingsOf, tripMigrationsDir } from './module.ts';
import { renderReceiptPdf } from './receipt-pdf.ts';
import { createStartTrip, defineStartTripSaga } from './start-trip.ts';
import { FakeCars, FakePayments, FakeProfiles } from './testing/fake-cars.ts';
import { createTripQueries } from './trip-queries.ts';

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
        },
      });
      db = test.database as ServiceDatabase<TripDatabase>;
    });
    after(() => test.close());

    it('an extended reservation that became a trip: the fee is a receipt line, in the captured total, no longer owed alone', async () => {
      const clock = new FakeClock('2026-12-04T10:00:00.000Z');
      const cars = new FakeCars();
      const profiles = new FakeProfiles();
      const payments = new FakePayments();
      const settings = new LiveConfig(settingsOf(loadTripConfig()));
      const events = createEventFactory({ source: 'trip', clock, ids: uuidV7Ids });
      const publish = async (_trx: unknown, _event: EventEnvelope) => {};
      const startSaga = defineStartTripSaga({ cars, profiles, payments, settings, clock, events, publish });
      const finishSaga = defineFinishTripSaga({ db: db.db, cars, payments, settings, clock, events, publish });
      const runner = new SagaRunner({ database: db, sagas: [startSaga, finishSaga], clock });
      const reservations = new SqlReservationStore(db.db);
      const startTrip = createStartTrip({ db: db.db, transact: (work) => db.transaction((trx) => work(trx as never)), events, publish, runner, saga: startSaga, reservations, clock, ids: uuidV7Ids });
      const finishTrip = createFinishTrip({ db: db.db, runner, saga: finishSaga, cars, settings, ids: uuidV7Ids });
      const queries = createTripQueries({ db: db.db, cars, runner, settings, clock });
      const rider: Caller = { userId: uuidV7Ids.next(), role: 'rider', plan: 'free' };
      profiles.verified.add(rider.userId);
      const carId = uuidV7Ids.next();
      cars.add(carId, 'compact');
      cars.report(carId, { at: clock.now(), ...berlinCentre });

      const reservation = newReservation({ id: uuidV7Ids.next(), riderId: rider.userId, carId, now: clock.now(), holdMinutes: 15 });
      await reservations.insert(reservation);
      const outcome = extendReservation(reservation, { now: clock.now(), minutes: 10, feeCents: 150, currency: 'EUR' });
      assert.ok('extended' in outcome);
      assert.equal(await reservations.extend(outcome.extended, clock.now()), true);

      const trip = await startTrip({ reservationId: reservation.id }, rider);
      clock.advance(3 * minute);
      cars.report(carId, { at: clock.now(), ...berlinCentre });
      const finished = await finishTrip({ tripId: trip.id }, rider);
      assert.equal(finished.status, 'finished');

      const tariff = tariffFor(settings.get().tariffs, 'compact');
      const tripCents = tariff.unlockFeeCents + 3 * tariff.drivingPerMinuteCents;
      const receipt = await queries.getReceipt({ tripId: trip.id }, rider);
      assert.deepEqual(receipt.feeLines, [{ code: 'reservation_extension', description: 'Reservation extended by 10 min', quantity: 1, unitCents: 150, cents: 150 }]);
      assert.equal(receipt.totalCents, tripCents + 150);
      assert.deepEqual(payments.allCaptures(), [tripCents + 150], 'captured with the trip, once');
      assert.equal((await reservations.find(reservation.id))?.feeStatus, 'on_trip');
      assert.equal((await reservations.feesOwed(1_000)).some((candidate) => candidate.id === reservation.id), false, 'never charged alone as well');
      assert.match(pdfText(await renderReceiptPdf(receipt)), /Reservation extended by 10 min/, 'the PDF carries the line');
    });
  });
}

describeExtensionFee('PGlite', undefined);
if (process.env.DATABASE_URL) describeExtensionFee('PostgreSQL', process.env.DATABASE_URL);
