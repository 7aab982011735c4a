import { isEventEnvelope, type EventEnvelope } from '@carshare/contracts';
import { InvalidArgument } from '@carshare/platform';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { eventList } from './event-bus.ts';

/**
 * Writes events into the service's `outbox` table inside the caller's transaction, so an event
 * exists exactly when the state change that caused it was committed. The relay publishes them.
 */
export class Outbox {
  readonly #listeners = new Set<() => void>();
  readonly #table: RawBuilder<unknown>;

  /**
   * `schema`: the service's, named in the insert so the shared PGlite session needs no
   * search_path switch for it (libs/storage); without it the table resolves by search_path.
   */
  constructor(schema?: string) {
    this.#table = sql.table(schema === undefined ? 'outbox' : `${schema}.outbox`);
  }

  /**
   * `trx` is the transaction that makes the state change: `database.transaction(async (trx) =>
   * { ...; await outbox.add(trx, event) })`. Adding the same event id twice is refused.
   */
  async add(trx: Kysely<any>, events: EventEnvelope | readonly EventEnvelope[]): Promise<void> {
    const list = eventList(events);
    if (list.length === 0) return;
    for (const event of list) {
      if (!isEventEnvelope(event)) throw InvalidArgument('INVALID_EVENT', 'not an event envelope', { id: (event as { id?: unknown }).id });
    }
    const values = list.map(
      (event) => sql`(${event.id}::uuid, ${event.type}, ${event.subject}, ${event.occurredAt}::timestamptz, ${JSON.stringify(event)}::jsonb)`,
    );
    await sql`insert into ${this.#table} (event_id, event_type, subject, occurred_at, envelope) values ${sql.join(values)}`.execute(trx);
    // A hint only: the transaction has not committed yet, so the relay also polls.
    for (const listener of this.#listeners) listener();
  }

  /** The relay of this process listens here to poll right away instead of at its next tick. */
  onAdded(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}
