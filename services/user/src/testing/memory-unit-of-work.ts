import { UndoJournal, journaledView } from '@carshare/testing';
import type { UnitOfWork, UserTransaction } from '../ports.ts';
import type { MemoryMailOutbox, MemoryMailTokenStore } from './memory-account-security-stores.ts';
import type { MemoryEventOutbox } from './memory-event-outbox.ts';
import type { MemoryRefreshTokenStore } from './memory-refresh-token-store.ts';
import type { MemoryUserStore } from './memory-user-store.ts';

export interface MemoryTables {
  users: MemoryUserStore;
  refreshTokens: MemoryRefreshTokenStore;
  events: MemoryEventOutbox;
  mailTokens: MemoryMailTokenStore;
  mails: MemoryMailOutbox;
}

/**
 * Transactions over the in-memory fakes: one at a time (as on embedded PGlite); when the work
 * throws, every write it made through `tx` is undone, events included, while writes the use case
 * made outside `tx` stay (so a test catches a write that escaped its transaction). The work
 * calls the very fakes a test holds, so `failOnCall(fakes.outbox, 'add', …)` fails inside it.
 *
 * Not a database: reads outside a transaction see its uncommitted writes. Use-case tests run
 * one call at a time; races are tested on PGlite.
 */
export class MemoryUnitOfWork implements UnitOfWork {
  readonly #tables: MemoryTables;
  #queue: Promise<unknown> = Promise.resolve();
  #committed = 0;
  #rolledBack = 0;

  constructor(tables: MemoryTables) {
    this.#tables = tables;
  }

  /** Transactions that committed and that rolled back so far. */
  get counts(): { committed: number; rolledBack: number } {
    return { committed: this.#committed, rolledBack: this.#rolledBack };
  }

  run<T>(work: (tx: UserTransaction) => Promise<T>): Promise<T> {
    const result = this.#queue.then(() => this.#runAlone(work));
    // The queue only orders transactions; each caller gets its own outcome through `result`.
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #runAlone<T>(work: (tx: UserTransaction) => Promise<T>): Promise<T> {
    const journal = new UndoJournal();
    const { users, refreshTokens, events, mailTokens, mails } = this.#tables;
    try {
      const result = await work({
        users: journaledView(users, journal),
        refreshTokens: journaledView(refreshTokens, journal),
        events: journaledView(events, journal),
        mailTokens: journaledView(mailTokens, journal),
        mails: journaledView(mails, journal),
      });
      this.#committed += 1;
      return result;
    } catch (error) {
      journal.rollback();
      this.#rolledBack += 1;
      throw error;
    }
  }
}
