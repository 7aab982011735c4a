import type { EventEnvelope } from '@carshare/contracts';
import type { ServiceDatabase } from '@carshare/storage';
import { sql, type Transaction } from 'kysely';
import type { Registry } from 'prom-client';
import type { DeliveryContext, EventHandler } from './event-bus.ts';
import { counterOf, messagingMetricNames } from './messaging-metrics.ts';

export type TransactionalEventHandler = (event: EventEnvelope, trx: Transaction<any>, context: DeliveryContext) => Promise<void>;

/**
 * Idempotent consumers. The wrapped handler runs in a transaction that first records
 * (group, event id) in the service's `inbox` table: the handler's writes and that row commit
 * together, so a redelivered event finds the row, is acknowledged and skipped; a failed handler
 * rolls both back and the event is retried.
 */
export class Inbox {
  readonly #database: ServiceDatabase;
  readonly #duplicates: { inc(group: string): void };

  constructor(options: { database: ServiceDatabase; registry?: Registry }) {
    this.#database = options.database;
    const registry = options.registry;
    if (registry) {
      const counter = counterOf(registry, messagingMetricNames.inboxDuplicates, 'Redelivered events skipped by the inbox, by consumer group', ['group']);
      this.#duplicates = { inc: (group) => counter.inc({ group }) };
    } else {
      this.#duplicates = { inc: () => {} };
    }
  }

  /**
   * `onDuplicate` is told about each skipped redelivery (tests count them; production has the
   * metric).
   */
  handler(work: TransactionalEventHandler, options: { onDuplicate?: (event: EventEnvelope) => void } = {}): EventHandler {
    return async (event, context) => {
      const handled = await this.#database.transaction(async (trx) => {
        const { rows } = await sql`
          insert into inbox (consumer_group, event_id, event_type) values (${context.group}, ${event.id}::uuid, ${event.type})
          on conflict do nothing returning event_id`.execute(trx);
        if (rows.length === 0) return false;
        await work(event, trx, context);
        return true;
      });
      if (!handled) {
        this.#duplicates.inc(context.group);
        options.onDuplicate?.(event);
      }
    };
  }

  /** Whether a group has handled an event (for tests and support). */
  async has(group: string, eventId: string): Promise<boolean> {
    const { rows } = await sql`select 1 from inbox where consumer_group = ${group} and event_id = ${eventId}::uuid`.execute(this.#database.db);
    return rows.length > 0;
  }

  /**
   * Forgets handled events older than `olderThan`. The inbox only needs to outlive the longest
   * redelivery window (broker retention, outbox replays); a week is plenty.
   */
  async purge(olderThan: Date, batchSize = 10_000): Promise<number> {
    const result = await sql`
      delete from inbox where ctid in (select ctid from inbox where handled_at < ${olderThan} limit ${batchSize})`.execute(this.#database.db);
    return Number(result.numAffectedRows ?? 0);
  }
}
