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
    if (eventList(events).length === 0) return;
    await this.insert(events).execute(trx);
    // A hint only: the transaction has not committed yet, so the relay also polls.
    this.announce();
  }

  /**
   * The insert of `events` as a statement of its own, for a batch that makes the state change
   * they tell of (ServiceDatabase.batch): compile it against the service's database, and call
   * `announce()` once the batch committed. At least one event.
   */
  insert(events: EventEnvelope | readonly EventEnvelope[]): RawBuilder<unknown> {
    const list = eventList(events);
    if (list.length === 0) throw InvalidArgument('NO_EVENTS', 'an outbox insert needs at least one event');
    const { table, rows } = this.rowsOf(list);
    return sql`insert into ${table} (event_id, event_type, subject, occurred_at, envelope) values ${sql.join(rows.map((row) => sql`(${row})`))}`;
  }

  /**
   * For a state change and its events written in one statement (data-modifying CTEs, no
   * transaction): the outbox table and, per event in order, the values of its row
   * `event_id, event_type, subject, occurred_at, envelope` (unparenthesised, so a caller may put
   * columns of its own beside them). Call `announce()` once the statement has run.
   */
  rowsOf(events: readonly EventEnvelope[]): { table: RawBuilder<unknown>; rows: Array<RawBuilder<unknown>> } {
    for (const event of events) {
      if (!isEventEnvelope(event)) throw InvalidArgument('INVALID_EVENT', 'not an event envelope', { id: (event as { id?: unknown }).id });
    }
    const rows = events.map((event) => sql`${event.id}::uuid, ${event.type}, ${event.subject}, ${event.occurredAt}::timestamptz, ${JSON.stringify(event)}::jsonb`);
    return { table: this.#table, rows };
  }

  /** Wakes this process's relay: events were just written. */
  announce(): void {
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
