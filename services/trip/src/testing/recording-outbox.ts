import type { EventEnvelope } from '@carshare/contracts';
import { Outbox } from '@carshare/messaging';
import type { ServiceDatabase } from '@carshare/storage';
import { sql } from 'kysely';

/**
 * The service's real outbox on a test database (its tables migrated with migrateMessagingTables),
 * and what it holds: an event counts as published once its row committed, as the relay sees it.
 */
export function recordingOutbox(database: ServiceDatabase) {
  const outbox = new Outbox(database.schema);
  return {
    outbox,
    /** The events committed about `subject` (a trip id), in the order they were written. */
    published: async (subject: string): Promise<EventEnvelope[]> => {
      const { rows } = await sql<{ envelope: EventEnvelope }>`select envelope from ${database.table('outbox')} where subject = ${subject} order by seq`.execute(database.db);
      return rows.map((row) => row.envelope);
    },
  };
}
