import { UndoJournal, journaledView } from '@carshare/testing';
import type { BlobTransaction, UnitOfWork } from '../ports.ts';
import type { MemoryBlobRecordStore } from './memory-blob-record-store.ts';
import type { MemoryEventOutbox } from './memory-event-outbox.ts';

/**
 * Transactions over the in-memory fakes, one at a time: when the work throws, every write it
 * made through `tx` is undone, events included (see services/user's MemoryUnitOfWork).
 */
export class MemoryUnitOfWork implements UnitOfWork {
  readonly #blobs: MemoryBlobRecordStore;
  readonly #events: MemoryEventOutbox;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(blobs: MemoryBlobRecordStore, events: MemoryEventOutbox) {
    this.#blobs = blobs;
    this.#events = events;
  }

  run<T>(work: (tx: BlobTransaction) => Promise<T>): Promise<T> {
    const result = this.#queue.then(() => this.#runAlone(work));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #runAlone<T>(work: (tx: BlobTransaction) => Promise<T>): Promise<T> {
    const journal = new UndoJournal();
    try {
      return await work({ blobs: journaledView(this.#blobs, journal), events: journaledView(this.#events, journal) });
    } catch (error) {
      journal.rollback();
      throw error;
    }
  }
}
