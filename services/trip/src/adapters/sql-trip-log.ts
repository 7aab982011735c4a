import { isUuidKey, paginate } from '@carshare/storage';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { PriceBreakdown, Tariff } from '../domain/pricing.ts';
import type { TripPaymentStatus, TripStatus } from '../domain/trip-states.ts';
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
  /** The tariff the trip started with (undefined before it started). */
  tariff: Tariff | undefined;
  pausedMs: number;
  pausedSince: number | undefined;
  finishedAt: number | undefined;
  paymentStatus: TripPaymentStatus | undefined;
  price: FinishedPrice | undefined;
  finishSagaId: string | undefined;
  distanceM: number | undefined;
  endZoneId: string | undefined;
  captureCents: number | undefined;
}

/** What the finish recorded: the breakdown and what it was priced from (the receipt's source). */
export interface FinishedPrice extends PriceBreakdown {
  vatRate: number;
  endZone: { id: string; name: string };
}

export type TripColumns = Partial<{
  category: string;
  tariff: Record<string, unknown>;
  deposit_cents: number;
  payment_id: string;
  failure_reason: string;
  started_at: Date;
  paused_ms: number;
  paused_since: Date | null;
  finished_at: Date;
  price: FinishedPrice;
  payment_status: TripPaymentStatus;
  finish_saga_id: string | null;
  distance_m: number;
  end_zone_id: string;
  capture_cents: number;
}>;

export interface TripListQuery {
  limit: number;
  cursor: string | undefined;
  status?: TripStatus | undefined;
  riderId?: string | undefined;
  carId?: string | undefined;
  /** Created at or after. */
  from?: number | undefined;
  /** Created before. */
  to?: number | undefined;
}

const ms = (value: Date | string | null): number | undefined => (value === null ? undefined : new Date(value).getTime());

function toTrip(row: Selectable<TripDatabase['trips']>): TripRow {
  const tariff = row.tariff as unknown as Partial<Tariff>;
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
    startedAt: ms(row.started_at),
    version: row.version,
    createdAt: new Date(row.created_at).getTime(),
    tariff: tariff.version === undefined ? undefined : (tariff as Tariff),
    pausedMs: Number(row.paused_ms),
    pausedSince: ms(row.paused_since),
    finishedAt: ms(row.finished_at),
    paymentStatus: (row.payment_status ?? undefined) as TripPaymentStatus | undefined,
    price: (row.price ?? undefined) as FinishedPrice | undefined,
    finishSagaId: row.finish_saga_id ?? undefined,
    distanceM: row.distance_m ?? undefined,
    endZoneId: row.end_zone_id ?? undefined,
    captureCents: row.capture_cents ?? undefined,
  };
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

  /**
   * The event row as the select list of `insert into trip_events (trip_id, seq, type, data, at)
   * select …` (by position), its seq the version the trip row got in the same statement.
   */
  #eventRow(tripId: string, version: 'opened.version' | 'updated.version', type: string, data: Record<string, unknown>, at: number) {
    return [
      sql<string>`${tripId}::uuid`.as('trip_id'),
      sql.ref(version).as('seq'),
      sql<string>`${type}::text`.as('type'),
      sql<string>`${JSON.stringify(data)}::jsonb`.as('data'),
      sql<Date>`${new Date(at)}::timestamptz`.as('at'),
    ];
  }

  /**
   * A new trip, `starting`, with its first event: one statement (the event's insert reads the
   * trip's), as every change below; on PGlite each statement is a turn of the single session.
   */
  async open(trip: { id: string; riderId: string; carId: string; reservationId: string | undefined }, at: number): Promise<void> {
    await this.openQuery(trip, at).execute();
  }

  /** open() as a statement, for a batch (ServiceDatabase.batch). */
  openQuery(trip: { id: string; riderId: string; carId: string; reservationId: string | undefined }, at: number) {
    return this.#db
      .with('opened', (db) =>
        db
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
          .returning('version'),
      )
      .insertInto('trip_events')
      .columns(['trip_id', 'seq', 'type', 'data', 'at'])
      .expression((db) =>
        db.selectFrom('opened').select(this.#eventRow(trip.id, 'opened.version', 'trip.requested', { riderId: trip.riderId, carId: trip.carId, reservationId: trip.reservationId ?? null }, at)),
      );
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
    columns: TripColumns,
    at: number,
  ): Promise<boolean> {
    const appended = await this.changeQuery(tripId, from, to, event, columns, at).executeTakeFirst();
    return Number(appended.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /**
   * change() as a statement, for a batch: it changes no row when the trip is not in `from`, or
   * (with `version`) is no longer at that version: a plan read it, and anything since may matter.
   */
  changeQuery(
    tripId: string,
    from: readonly TripStatus[],
    to: TripStatus,
    event: { type: string; data: Record<string, unknown> },
    columns: TripColumns,
    at: number,
    version?: number,
  ) {
    const { tariff, price, ...plain } = columns;
    return this.#db
      .with('updated', (db) => {
        const update = db
          .updateTable('trips')
          .set({
            ...plain,
            ...(tariff !== undefined && { tariff: JSON.stringify(tariff) }),
            ...(price !== undefined && { price: JSON.stringify(price) }),
            status: to,
            version: sql`version + 1`,
            updated_at: new Date(at),
          })
          .where('id', '=', tripId)
          .where('status', 'in', [...from]);
        return (version === undefined ? update : update.where('version', '=', version)).returning('version');
      })
      .insertInto('trip_events')
      .columns(['trip_id', 'seq', 'type', 'data', 'at'])
      .expression((db) => db.selectFrom('updated').select(this.#eventRow(tripId, 'updated.version', event.type, event.data, at)));
  }

  /**
   * Changes projected columns without a state change, with its event (a capture confirmed
   * later); answers false when the trip is not in one of `in`.
   */
  async update(tripId: string, inStatus: readonly TripStatus[], event: { type: string; data: Record<string, unknown> }, columns: TripColumns, at: number): Promise<boolean> {
    const trip = await this.find(tripId);
    if (!trip || !inStatus.includes(trip.status)) return false;
    return this.change(tripId, [trip.status], trip.status, event, columns, at);
  }

  async find(tripId: string): Promise<TripRow | undefined> {
    const row = await this.#db.selectFrom('trips').selectAll().where('id', '=', tripId).executeTakeFirst();
    return row && toTrip(row);
  }

  /** The rider's trip that is not over yet (starting, running, paused or finishing), if any. */
  async findLiveByRider(riderId: string): Promise<TripRow | undefined> {
    const row = await this.#db.selectFrom('trips').selectAll().where('rider_id', '=', riderId).where('status', 'in', ['starting', 'in_progress', 'paused', 'finishing']).executeTakeFirst();
    return row && toTrip(row);
  }

  /** Newest first (UUIDv7 ids sort by creation), one keyset page. */
  async list(query: TripListQuery): Promise<{ items: TripRow[]; nextCursor: string | undefined }> {
    let select = this.#db.selectFrom('trips').selectAll();
    if (query.status !== undefined) select = select.where('status', '=', query.status);
    if (query.riderId !== undefined) select = select.where('rider_id', '=', query.riderId);
    if (query.carId !== undefined) select = select.where('car_id', '=', query.carId);
    if (query.from !== undefined) select = select.where('created_at', '>=', new Date(query.from));
    if (query.to !== undefined) select = select.where('created_at', '<', new Date(query.to));
    const page = await paginate(select, { key: 'id', direction: 'desc', limit: query.limit, cursor: query.cursor, isKey: isUuidKey });
    return { items: page.items.map(toTrip), nextCursor: page.nextCursor };
  }

  /** Finished trips whose capture has not been confirmed yet, oldest first. */
  async pendingCaptures(limit: number): Promise<TripRow[]> {
    const rows = await this.#db.selectFrom('trips').selectAll().where('payment_status', '=', 'pending').where('status', '=', 'finished').orderBy('finished_at').limit(limit).execute();
    return rows.map(toTrip);
  }

  async events(tripId: string): Promise<TripEventRecord[]> {
    const rows = await this.#db.selectFrom('trip_events').selectAll().where('trip_id', '=', tripId).orderBy('seq').execute();
    return rows.map((row) => ({ tripId: row.trip_id, seq: row.seq, type: row.type, data: row.data, at: new Date(row.at).getTime() }));
  }
}
