import type { EventEnvelope } from '@carshare/contracts';
import { isUuid, systemClock, uuidV7Ids, type Clock, type IdGenerator } from '@carshare/platform';
import { isUuidKey, paginate, type ServiceDatabase } from '@carshare/storage';
import { sql } from 'kysely';
import type { Registry } from 'prom-client';
import { pageLimit, type DeadLetter, type DeadLetterPage, type DeadLetterQuery, type DeadLetterStore, type NewDeadLetter } from './dead-letter-store.ts';
import type { ErrorSummary } from './describe-error.ts';
import { messagingMetricNames, registerGaugeSource } from './messaging-metrics.ts';
import { parseTopic, topicRegexSource } from './topic-pattern.ts';

interface DeadLetterRow {
  id: string;
  consumer_group: string;
  envelope: EventEnvelope;
  error: ErrorSummary;
  attempts: number;
  traceparent: string | null;
  failed_at: Date;
}

/** The columns the builder touches; the rest of the table is written with plain SQL. */
interface DeadLetterTables {
  dead_letter: DeadLetterRow & { event_type: string };
}

function toDeadLetter(row: DeadLetterRow): DeadLetter {
  return {
    id: row.id,
    group: row.consumer_group,
    event: row.envelope,
    error: row.error,
    attempts: row.attempts,
    ...(row.traceparent ? { traceparent: row.traceparent } : {}),
    failedAt: row.failed_at.toISOString(),
  };
}

/**
 * Dead letters in the consuming service's own schema (table `dead_letter`), whichever bus
 * adapter delivered them: listing, paging, replaying and deleting one are then exact SQL, and a
 * service's dead letters are backed up and migrated with the rest of its data.
 */
export class SqlDeadLetterStore implements DeadLetterStore {
  readonly #database: ServiceDatabase;
  readonly #clock: Clock;
  readonly #ids: IdGenerator;
  readonly #unregister: () => void;

  constructor(options: { database: ServiceDatabase; clock?: Clock; ids?: IdGenerator; registry?: Registry }) {
    this.#database = options.database;
    this.#clock = options.clock ?? systemClock;
    this.#ids = options.ids ?? uuidV7Ids;
    this.#unregister = options.registry
      ? registerGaugeSource(options.registry, messagingMetricNames.deadLetters, 'Dead letters waiting, by consumer group', ['group'], async () =>
          [...(await this.countByGroup())].map(([group, value]) => ({ labels: { group }, value })),
        )
      : () => {};
  }

  async add(letter: NewDeadLetter): Promise<void> {
    const failedAt = new Date(this.#clock.now());
    await sql`
      insert into dead_letter (id, consumer_group, event_id, event_type, envelope, error, attempts, traceparent, failed_at)
      values (${this.#ids.next()}, ${letter.group}, ${letter.event.id}, ${letter.event.type}, ${JSON.stringify(letter.event)}::jsonb,
              ${JSON.stringify(letter.error)}::jsonb, ${letter.attempts}, ${letter.traceparent ?? null}, ${failedAt})
      on conflict (consumer_group, event_id) do update
        set envelope = excluded.envelope, error = excluded.error, attempts = excluded.attempts,
            traceparent = excluded.traceparent, failed_at = excluded.failed_at`.execute(this.#database.db);
  }

  async list(query: DeadLetterQuery = {}): Promise<DeadLetterPage> {
    const limit = pageLimit(query.limit);
    if (query.topic !== undefined) parseTopic(query.topic);
    const { db } = this.#database as ServiceDatabase<DeadLetterTables>;
    let select = db
      .selectFrom('dead_letter')
      .select(['id', 'consumer_group', 'envelope', 'error', 'attempts', 'traceparent', 'failed_at']);
    if (query.group !== undefined) select = select.where('consumer_group', '=', query.group);
    if (query.topic !== undefined) select = select.where('event_type', '~', `^${topicRegexSource(query.topic)}$`);
    const page = await paginate(select, { key: 'id', direction: 'desc', limit, cursor: query.cursor, isKey: isUuidKey });
    return { ...page, items: page.items.map((row) => toDeadLetter(row)) };
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    if (!isUuid(id)) return undefined;
    const { rows } = await sql<DeadLetterRow>`
      select id, consumer_group, envelope, error, attempts, traceparent, failed_at
      from dead_letter where id = ${id}::uuid`.execute(this.#database.db);
    const row = rows[0];
    return row && toDeadLetter(row);
  }

  async delete(id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    const result = await sql`delete from dead_letter where id = ${id}::uuid`.execute(this.#database.db);
    return Number(result.numAffectedRows ?? 0) > 0;
  }

  async countByGroup(): Promise<Map<string, number>> {
    const { rows } = await sql<{ consumer_group: string; count: number }>`
      select consumer_group, count(*)::int as count from dead_letter group by consumer_group`.execute(this.#database.db);
    return new Map(rows.map((row) => [row.consumer_group, Number(row.count)]));
  }

  /** Stops reporting to the metrics registry (the table is untouched). */
  detach(): void {
    this.#unregister();
  }
}
