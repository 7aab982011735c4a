import { isEventEnvelope, type EventEnvelope } from '@carshare/contracts';
import { MemoryTable, type HasMemoryTables } from '@carshare/testing';
import type { EventOutbox } from '../ports.ts';

/**
 * The outbox table in memory. Under MemoryUnitOfWork an event stays here only if its
 * transaction committed, so `events` is exactly what the relay would publish.
 */
export class MemoryEventOutbox implements EventOutbox, HasMemoryTables {
  readonly #events = new MemoryTable<EventEnvelope>();

  async add(event: EventEnvelope): Promise<void> {
    // The SQL outbox refuses these too: a test must not pass on an event production would reject.
    if (!isEventEnvelope(event)) throw new Error('not an event envelope');
    if (this.#events.has(event.id)) throw new Error(`event ${event.id} is already in the outbox`);
    this.#events.set(event.id, event);
  }

  get events(): readonly EventEnvelope[] {
    return this.#events.values();
  }

  /** The types of the events about `subject`, oldest first: the usual assertion. */
  typesFor(subject: string): string[] {
    return this.#events
      .values()
      .filter((event) => event.subject === subject)
      .map((event) => event.type);
  }

  memoryTables(): readonly MemoryTable<unknown>[] {
    return [this.#events];
  }
}
