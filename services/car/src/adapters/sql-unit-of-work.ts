import type { Outbox } from '@carshare/messaging';
import type { ServiceDatabase } from '@carshare/storage';
import type { Kysely } from 'kysely';
import type { CarTransaction, UnitOfWork } from '../ports.ts';
import type { CarDatabase } from './car-database.ts';
import { SqlCarStore } from './sql-car-store.ts';
import { SqlCommandStore } from './sql-command-store.ts';

/** One SQL transaction for a use case's writes and the outbox rows of its events. */
export class SqlUnitOfWork implements UnitOfWork {
  readonly #database: ServiceDatabase<CarDatabase>;
  readonly #outbox: Outbox;

  constructor(database: ServiceDatabase<CarDatabase>, outbox: Outbox) {
    this.#database = database;
    this.#outbox = outbox;
  }

  run<T>(work: (tx: CarTransaction) => Promise<T>): Promise<T> {
    return this.#database.transaction(async (transaction) => {
      const trx = transaction as unknown as Kysely<CarDatabase>;
      return work({
        cars: new SqlCarStore(trx),
        commands: new SqlCommandStore(trx),
        events: { add: (event) => this.#outbox.add(trx, event) },
      });
    });
  }
}
