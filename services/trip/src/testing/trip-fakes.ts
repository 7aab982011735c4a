import type { EventEnvelope } from '@carshare/contracts';
import { createEventFactory } from '@carshare/messaging';
import { LiveConfig, uuidV7Ids } from '@carshare/platform';
import { FakeClock, ManualScheduler } from '@carshare/testing';
import { loadTripConfig } from '../config.ts';
import type { TripPorts, TripSettings, UnitOfWork } from '../ports.ts';
import { createTripService, type TripService } from '../trip-service.ts';
import { FakeAccounts } from './fake-accounts.ts';
import { FakeCars, FakePayments, FakeProfiles } from './fake-cars.ts';
import { MemoryReservationStore } from './memory-reservation-store.ts';

/** The events a use case added to the outbox, in order. */
export class RecordingOutbox {
  readonly events: EventEnvelope[] = [];
  typesFor(subject: string): string[] {
    return this.events.filter((event) => event.subject === subject).map((event) => event.type);
  }
}

export interface TripFakes {
  service: TripService;
  ports: TripPorts;
  clock: FakeClock;
  scheduler: ManualScheduler;
  cars: FakeCars;
  profiles: FakeProfiles;
  accounts: FakeAccounts;
  payments: FakePayments;
  reservations: MemoryReservationStore;
  outbox: RecordingOutbox;
  settings: LiveConfig<TripSettings>;
}

/** The trip service on memory stores and fakes of the services it calls, on a fake clock. */
export function createTripFakes(): TripFakes {
  const clock = new FakeClock('2026-12-04T10:00:00.000Z');
  const scheduler = new ManualScheduler(clock);
  const cars = new FakeCars();
  const profiles = new FakeProfiles();
  const accounts = new FakeAccounts();
  const payments = new FakePayments();
  const reservations = new MemoryReservationStore();
  const outbox = new RecordingOutbox();
  const config = loadTripConfig();
  const settings = new LiveConfig<TripSettings>({ tariffs: config.tariffs, zones: config.zones, reservations: config.reservations, deposits: config.deposits, lowEnergy: config.lowEnergy });
  // Memory has no rollback: the use cases write their state change before their event, so a
  // failure between them leaves what SQL would have rolled back only in these tests.
  const unitOfWork: UnitOfWork = {
    run: (work) => work({ reservations, events: { add: async (event) => void outbox.events.push(event) } }),
  };
  const ports: TripPorts = {
    reservations,
    unitOfWork,
    events: createEventFactory({ source: 'trip', clock, ids: uuidV7Ids }),
    cars,
    profiles,
    accounts,
    payments,
    settings,
    clock,
    scheduler,
    ids: uuidV7Ids,
  };
  return { service: createTripService(ports), ports, clock, scheduler, cars, profiles, accounts, payments, reservations, outbox, settings };
}
