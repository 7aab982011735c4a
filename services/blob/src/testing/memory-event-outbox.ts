import { isEventEnvelope, type EventEnvelope } from '@carshare/contracts';
import { MemoryTable, type HasMemoryTables } from '@carshare/testing';
import type { EventOutbox } from '../ports.ts';

/** The outbox table in memory: under MemoryUnitOfWork an event stays only if its transaction committed. */
export class MemoryEventOutbox implements EventOutbox, HasMemoryTables {
  readonly #events = new MemoryTable<EventEnvelope>();

  async add(event: EventEnvelope): Promise<void> {
    if (!isEventEnvelope(event)) throw new Error('not an event envelope');
    this.#events.set(event.id, event);
  }

  get events(): readonly EventEnvelope[] {
    return this.#events.values();
  }

  /** The types of the events about `subject`, oldest first. */
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
