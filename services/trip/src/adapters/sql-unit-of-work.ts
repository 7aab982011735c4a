import type { Outbox } from '@carshare/messaging';
import type { ServiceDatabase } from '@carshare/storage';
import type { Kysely } from 'kysely';
import type { TripTransaction, UnitOfWork } from '../ports.ts';
import { SqlReservationStore } from './sql-reservation-store.ts';
import type { TripDatabase } from './trip-database.ts';

/** One SQL transaction for a use case's writes and the outbox rows of its events. */
export class SqlUnitOfWork implements UnitOfWork {
  readonly #database: ServiceDatabase<TripDatabase>;
  readonly #outbox: Outbox;

  constructor(database: ServiceDatabase<TripDatabase>, outbox: Outbox) {
    this.#database = database;
    this.#outbox = outbox;
  }

  run<T>(work: (tx: TripTransaction) => Promise<T>): Promise<T> {
    return this.#database.transaction(async (transaction) => {
      const trx = transaction as unknown as Kysely<TripDatabase>;
      return work({
        reservations: new SqlReservationStore(trx),
        events: { add: (event) => this.#outbox.add(trx, event) },
      });
    });
  }
}
