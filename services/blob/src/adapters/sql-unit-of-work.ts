import type { Outbox } from '@carshare/messaging';
import type { ServiceDatabase } from '@carshare/storage';
import type { Kysely } from 'kysely';
import type { BlobTransaction, UnitOfWork } from '../ports.ts';
import type { BlobDatabase } from './blob-database.ts';
import { SqlBlobRecordStore } from './sql-blob-record-store.ts';

/** One SQL transaction for a use case's record changes and the outbox rows of its events. */
export class SqlUnitOfWork implements UnitOfWork {
  readonly #database: ServiceDatabase<BlobDatabase>;
  readonly #outbox: Outbox;

  constructor(database: ServiceDatabase<BlobDatabase>, outbox: Outbox) {
    this.#database = database;
    this.#outbox = outbox;
  }

  async run<T>(work: (tx: BlobTransaction) => Promise<T>): Promise<T> {
    return this.#database.transaction(async (transaction) => {
      const trx = transaction as unknown as Kysely<BlobDatabase>;
      return work({ blobs: new SqlBlobRecordStore(trx), events: { add: (event) => this.#outbox.add(trx, event) } });
    });
  }
}
