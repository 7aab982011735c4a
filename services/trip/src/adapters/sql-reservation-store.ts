import { Conflict } from '@carshare/platform';
import { isUniqueViolation } from '@carshare/storage';
import type { Kysely, Selectable } from 'kysely';
import type { ExtensionFeeStatus, Reservation } from '../domain/reservation.ts';
import type { ReservationStatus } from '../domain/trip-states.ts';
import type { ReservationStore } from '../ports.ts';
import type { TripDatabase } from './trip-database.ts';

function toReservation(row: Selectable<TripDatabase['reservations']>): Reservation {
  const extended = row.extended_at !== null && row.extended_at !== undefined;
  return {
    id: row.id,
    riderId: row.rider_id,
    carId: row.car_id,
    status: row.status as ReservationStatus,
    createdAt: new Date(row.created_at).getTime(),
    expiresAt: new Date(row.expires_at).getTime(),
    endedAt: row.ended_at === null ? undefined : new Date(row.ended_at).getTime(),
    extension: extended
      ? { at: new Date(row.extended_at as Date).getTime(), minutes: row.extension_minutes ?? 0, feeCents: row.extension_fee_cents ?? 0, currency: row.extension_currency ?? '' }
      : undefined,
    feeStatus: (row.extension_fee_status ?? undefined) as ExtensionFeeStatus | undefined,
  };
}

export class SqlReservationStore implements ReservationStore {
  readonly #db: Kysely<TripDatabase>;

  /** `db` is the service's database or a transaction on it. */
  constructor(db: Kysely<TripDatabase>) {
    this.#db = db;
  }

  async insert(reservation: Reservation): Promise<void> {
    try {
      await this.#db
        .insertInto('reservations')
        .values({
          id: reservation.id,
          rider_id: reservation.riderId,
          car_id: reservation.carId,
          status: reservation.status,
          created_at: new Date(reservation.createdAt),
          expires_at: new Date(reservation.expiresAt),
          ended_at: null,
        })
        .execute();
    } catch (error) {
      // reservations_one_active_per_rider: a concurrent Reserve of the same rider got there first.
      if (isUniqueViolation(error)) throw Conflict('RESERVATION_EXISTS', 'you already hold a car', { riderId: reservation.riderId });
      throw error;
    }
  }

  async remove(id: string): Promise<void> {
    await this.#db.deleteFrom('reservations').where('id', '=', id).execute();
  }

  async find(id: string): Promise<Reservation | undefined> {
    const row = await this.#db.selectFrom('reservations').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toReservation(row);
  }

  async findActiveByRider(riderId: string): Promise<Reservation | undefined> {
    const row = await this.#db.selectFrom('reservations').selectAll().where('rider_id', '=', riderId).where('status', '=', 'active').executeTakeFirst();
    return row && toReservation(row);
  }

  async end(ended: Reservation): Promise<boolean> {
    const result = await this.#db
      .updateTable('reservations')
      .set({ status: ended.status, ended_at: ended.endedAt === undefined ? null : new Date(ended.endedAt) })
      .where('id', '=', ended.id)
      .where('status', '=', 'active')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async extend(extended: Reservation, now: number): Promise<boolean> {
    const extension = extended.extension;
    if (!extension) return false;
    const result = await this.#db
      .updateTable('reservations')
      .set({
        expires_at: new Date(extended.expiresAt),
        extended_at: new Date(extension.at),
        extension_minutes: extension.minutes,
        extension_fee_cents: extension.feeCents,
        extension_currency: extension.currency,
        extension_fee_status: extended.feeStatus ?? null,
      })
      .where('id', '=', extended.id)
      .where('status', '=', 'active')
      .where('extended_at', 'is', null)
      // The sweeper takes holds whose deadline passed: an extension after that point loses to it.
      .where('expires_at', '>', new Date(now))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async settleFee(id: string, to: 'on_trip' | 'charged' | 'failed' | 'waived'): Promise<boolean> {
    const result = await this.settleFeeQuery(id, to).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** settleFee as a statement for a batch: it changes no row when the fee is no longer owed. */
  settleFeeQuery(id: string, to: 'on_trip' | 'charged' | 'failed' | 'waived') {
    return this.#db.updateTable('reservations').set({ extension_fee_status: to }).where('id', '=', id).where('extension_fee_status', '=', 'owed');
  }

  async feesOwed(limit: number): Promise<Reservation[]> {
    const rows = await this.#db
      .selectFrom('reservations')
      .selectAll()
      .where('extension_fee_status', '=', 'owed')
      .where('status', 'in', ['cancelled', 'expired'])
      .orderBy('ended_at')
      .limit(limit)
      .execute();
    return rows.map(toReservation);
  }

  async expiredBy(now: number, limit: number): Promise<Reservation[]> {
    const rows = await this.#db
      .selectFrom('reservations')
      .selectAll()
      .where('status', '=', 'active')
      .where('expires_at', '<=', new Date(now))
      .orderBy('expires_at')
      .limit(limit)
      .execute();
    return rows.map(toReservation);
  }
}
