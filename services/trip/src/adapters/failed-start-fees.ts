import type { SagaRunner } from '@carshare/saga';
import type { Kysely } from 'kysely';
import type { FailedStartFees } from '../ports.ts';
import type { TripDatabase } from './trip-database.ts';

/**
 * Failed starts whose reservation still owes its extension fee, from the trip service's own
 * tables; why each failed from the start saga's log (the trip id is the saga id).
 */
export function sqlFailedStartFees(db: Kysely<TripDatabase>, runner: Pick<SagaRunner, 'get'>): FailedStartFees {
  return {
    async owing(limit) {
      const rows = await db
        .selectFrom('reservations as r')
        .innerJoin('trips as t', 't.reservation_id', 'r.id')
        .select(['r.id as reservationId', 't.id as tripId'])
        .where('r.status', '=', 'converted')
        .where('r.extension_fee_status', '=', 'owed')
        .where('t.status', '=', 'failed')
        // A later start of the same reservation that did not fail carries the fee itself.
        .where((eb) => eb.not(eb.exists(eb.selectFrom('trips as other').select('other.id').whereRef('other.reservation_id', '=', 'r.id').where('other.status', '<>', 'failed'))))
        .orderBy('r.ended_at')
        .orderBy('t.id')
        .limit(limit)
        .execute();
      // One row per reservation: several failed starts of one hold owe one fee.
      const seen = new Set<string>();
      return rows.filter((row) => !seen.has(row.reservationId) && seen.add(row.reservationId));
    },
    async reasonOf(tripId) {
      const record = await runner.get(tripId);
      // Only a start saga that is over: one still compensating may yet be resumed.
      if (!record || (record.status !== 'compensated' && record.status !== 'failed')) return undefined;
      return record.error?.reason ?? 'START_FAILED';
    },
  };
}
