import type { EventEnvelope } from '@carshare/contracts';
import { eventList, type Outbox } from '@carshare/messaging';
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
      // Written once, when the work is done, in the order they were added: a command and the
      // state change it begins (or an ack and the change it settles) are one outbox statement.
      const events: EventEnvelope[] = [];
      const result = await work({
        cars: new SqlCarStore(trx),
        commands: new SqlCommandStore(trx),
        events: {
          add: async (event) => {
            events.push(...eventList(event));
          },
        },
      });
      await this.#outbox.add(trx, events);
      return result;
    });
  }
}
