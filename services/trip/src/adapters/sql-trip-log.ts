import { sql, type Kysely } from 'kysely';
import type { TripStatus } from '../domain/trip-states.ts';
import type { TripDatabase } from './trip-database.ts';

export interface TripEventRecord {
  tripId: string;
  seq: number;
  type: string;
  data: Record<string, unknown>;
  at: number;
}

export interface TripRow {
  id: string;
  riderId: string;
  carId: string;
  reservationId: string | undefined;
  status: TripStatus;
  category: string;
  depositCents: number;
  paymentId: string | undefined;
  failureReason: string | undefined;
  startedAt: number | undefined;
  version: number;
  createdAt: number;
}

/**
 * The trip's event log and its projection, written together: every change appends one event
 * (the source of truth) and updates the `trips` row in the same transaction. `db` is a
 * transaction (a saga's local step) or the service's database.
 */
export class SqlTripLog {
  readonly #db: Kysely<TripDatabase>;

  constructor(db: Kysely<TripDatabase>) {
    this.#db = db;
  }

  async #append(tripId: string, seq: number, type: string, data: Record<string, unknown>, at: number): Promise<void> {
    await this.#db.insertInto('trip_events').values({ trip_id: tripId, seq, type, data: JSON.stringify(data), at: new Date(at) }).execute();
  }

  /** A new trip, `starting`, with its first event. */
  async open(trip: { id: string; riderId: string; carId: string; reservationId: string | undefined }, at: number): Promise<void> {
    await this.#db
      .insertInto('trips')
      .values({
        id: trip.id,
        rider_id: trip.riderId,
        car_id: trip.carId,
        reservation_id: trip.reservationId ?? null,
        status: 'starting',
        category: 'unknown',
        tariff: JSON.stringify({}),
        deposit_cents: 0,
        payment_id: null,
        payment_status: null,
        failure_reason: null,
        started_at: null,
        paused_since: null,
        finished_at: null,
        price: null,
        version: 1,
        created_at: new Date(at),
        updated_at: new Date(at),
      })
      .execute();
    await this.#append(trip.id, 1, 'trip.requested', { riderId: trip.riderId, carId: trip.carId, reservationId: trip.reservationId ?? null }, at);
  }

  /**
   * Moves a trip from `from` to `to` with its event and projected columns; answers false (and
   * writes nothing) when the trip is not in `from` any more.
   */
  async change(
    tripId: string,
    from: readonly TripStatus[],
    to: TripStatus,
    event: { type: string; data: Record<string, unknown> },
    columns: Partial<{ category: string; tariff: Record<string, unknown>; deposit_cents: number; payment_id: string; failure_reason: string; started_at: Date }>,
    at: number,
  ): Promise<boolean> {
    const { tariff, ...plain } = columns;
    const updated = await this.#db
      .updateTable('trips')
      .set({
        ...plain,
        ...(tariff !== undefined && { tariff: JSON.stringify(tariff) }),
        status: to,
        version: sql`version + 1`,
        updated_at: new Date(at),
      })
      .where('id', '=', tripId)
      .where('status', 'in', [...from])
      .returning('version')
      .executeTakeFirst();
    if (!updated) return false;
    await this.#append(tripId, updated.version, event.type, event.data, at);
    return true;
  }

  async find(tripId: string): Promise<TripRow | undefined> {
    const row = await this.#db.selectFrom('trips').selectAll().where('id', '=', tripId).executeTakeFirst();
    if (!row) return undefined;
    return {
      id: row.id,
      riderId: row.rider_id,
      carId: row.car_id,
      reservationId: row.reservation_id ?? undefined,
      status: row.status as TripStatus,
      category: row.category,
      depositCents: row.deposit_cents,
      paymentId: row.payment_id ?? undefined,
      failureReason: row.failure_reason ?? undefined,
      startedAt: row.started_at === null ? undefined : new Date(row.started_at).getTime(),
      version: row.version,
      createdAt: new Date(row.created_at).getTime(),
    };
  }

  async events(tripId: string): Promise<TripEventRecord[]> {
    const rows = await this.#db.selectFrom('trip_events').selectAll().where('trip_id', '=', tripId).orderBy('seq').execute();
    return rows.map((row) => ({ tripId: row.trip_id, seq: row.seq, type: row.type, data: row.data, at: new Date(row.at).getTime() }));
  }
}
