import type { Outbox } from '@carshare/messaging';
import type { IdGenerator } from '@carshare/platform';
import type { ServiceDatabase } from '@carshare/storage';
import type { Kysely } from 'kysely';
import type { TransactionalUserStore, UnitOfWork, UserTransaction } from '../ports.ts';
import { SqlMailOutbox } from './sql-mail-outbox.ts';
import { SqlMailTokenStore } from './sql-mail-token-store.ts';
import { SqlRefreshTokenStore } from './sql-refresh-token-store.ts';
import { SqlUserStore } from './sql-user-store.ts';
import type { UserDatabase } from './user-database.ts';

/** Whoever keeps copies of user rows: told which users a transaction changed once it has ended. */
export interface UserChangeListener {
  forget(userIds: Iterable<string>): void;
}

/** One SQL transaction for a use case's writes and the outbox rows of its events. */
export class SqlUnitOfWork implements UnitOfWork {
  readonly #database: ServiceDatabase<UserDatabase>;
  readonly #outbox: Outbox;
  readonly #changes: UserChangeListener | undefined;
  readonly #mailIds: { ids: IdGenerator; now: () => number };

  constructor(database: ServiceDatabase<UserDatabase>, outbox: Outbox, mailIds: { ids: IdGenerator; now: () => number }, changes?: UserChangeListener) {
    this.#database = database;
    this.#outbox = outbox;
    this.#mailIds = mailIds;
    this.#changes = changes;
  }

  async run<T>(work: (tx: UserTransaction) => Promise<T>): Promise<T> {
    const changed = new Set<string>();
    try {
      return await this.#database.transaction(async (transaction) => {
        const trx = transaction as unknown as Kysely<UserDatabase>;
        return work({
          users: transactionalUserStore(trx, changed),
          refreshTokens: new SqlRefreshTokenStore(trx, (inner) => inner(trx)),
          events: { add: (event) => this.#outbox.add(trx, event) },
          mailTokens: new SqlMailTokenStore(trx),
          mails: new SqlMailOutbox(trx, this.#mailIds.ids, this.#mailIds.now),
        });
      });
    } finally {
      // After the commit, never before: a read between an early forget and the commit would
      // cache the old row again. On rollback nothing changed, and forgetting costs one miss.
      if (changed.size > 0) this.#changes?.forget(changed);
    }
  }
}

/**
 * The transaction's user store: it notes which users changed (for the read cache) and adds the
 * compare-and-set update, which lives here rather than in SqlUserStore because it only means
 * something inside a transaction. The changed row is mapped by the store's own read, in the same
 * transaction.
 */
function transactionalUserStore(trx: Kysely<UserDatabase>, changed: Set<string>): TransactionalUserStore {
  const store = new SqlUserStore(trx);
  return {
    insert: (user) => store.insert(user),
    findById: (id) => store.findById(id),
    findByEmailWithPassword: (email) => store.findByEmailWithPassword(email),
    list: (query) => store.list(query),
    update(id, changes, now) {
      changed.add(id);
      return store.update(id, changes, now);
    },
    updatePassword(id, passwordHash, now) {
      changed.add(id);
      return store.updatePassword(id, passwordHash, now);
    },
    async updateIfStatus(id, expectedStatus, changes, now) {
      changed.add(id);
      // On PostgreSQL the second of two racing updates waits for the first to commit, then
      // re-checks `status` against the committed row and matches nothing: one request wins.
      const claimed = await trx
        .updateTable('users')
        .set({
          ...(changes.status !== undefined && { status: changes.status, suspended_reason: changes.suspendedReason ?? null }),
          updated_at: new Date(now),
        })
        .where('id', '=', id)
        .where('status', '=', expectedStatus)
        .returning('id')
        .executeTakeFirst();
      return claimed ? store.findById(id) : undefined;
    },
  };
}
