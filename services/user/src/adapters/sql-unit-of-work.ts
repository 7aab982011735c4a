import type { Outbox } from '@carshare/messaging';
import type { ServiceDatabase } from '@carshare/storage';
import type { Kysely } from 'kysely';
import type { UnitOfWork, UserTransaction } from '../ports.ts';
import { SqlRefreshTokenStore } from './sql-refresh-token-store.ts';
import { SqlUserStore } from './sql-user-store.ts';
import type { UserDatabase } from './user-database.ts';

/** One SQL transaction for a use case's writes and the outbox rows of its events. */
export class SqlUnitOfWork implements UnitOfWork {
  readonly #database: ServiceDatabase<UserDatabase>;
  readonly #outbox: Outbox;

  constructor(database: ServiceDatabase<UserDatabase>, outbox: Outbox) {
    this.#database = database;
    this.#outbox = outbox;
  }

  run<T>(work: (tx: UserTransaction) => Promise<T>): Promise<T> {
    return this.#database.transaction(async (transaction) => {
      const trx = transaction as unknown as Kysely<UserDatabase>;
      return work({
        users: new SqlUserStore(trx),
        refreshTokens: new SqlRefreshTokenStore(trx, (inner) => inner(trx)),
        events: { add: (event) => this.#outbox.add(trx, event) },
      });
    });
  }
}
