import type { Outbox } from '@carshare/messaging';
import type { ServiceDatabase } from '@carshare/storage';
import type { Kysely } from 'kysely';
import type { ProfileTransaction, UnitOfWork } from '../ports.ts';
import type { ProfileDatabase } from './profile-database.ts';
import { SqlAuditLog } from './sql-audit-log.ts';
import { SqlOcrJobQueue } from './sql-ocr-job-queue.ts';
import { SqlProfileStore } from './sql-profile-store.ts';

/** One SQL transaction for a use case's writes, its audit entries and the outbox rows of its events. */
export class SqlUnitOfWork implements UnitOfWork {
  readonly #database: ServiceDatabase<ProfileDatabase>;
  readonly #outbox: Outbox;

  constructor(database: ServiceDatabase<ProfileDatabase>, outbox: Outbox) {
    this.#database = database;
    this.#outbox = outbox;
  }

  run<T>(work: (tx: ProfileTransaction) => Promise<T>): Promise<T> {
    return this.#database.transaction((transaction) => {
      const trx = transaction as unknown as Kysely<ProfileDatabase>;
      return work(transactionOn(trx, this.#outbox));
    });
  }
}

/** The stores on one transaction: also what the profile.submitted consumer gets inside the inbox's transaction. */
export function transactionOn(trx: Kysely<ProfileDatabase>, outbox: Outbox): ProfileTransaction {
  return {
    profiles: new SqlProfileStore(trx),
    audit: new SqlAuditLog(trx),
    ocrJobs: new SqlOcrJobQueue(trx),
    events: { add: (event) => outbox.add(trx, event) },
  };
}
