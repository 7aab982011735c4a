import { Conflict } from '@carshare/platform';
import type { Reservation } from '../domain/reservation.ts';
import type { ReservationStore } from '../ports.ts';

/** Reservations in memory, with the SQL store's guarantees (see reservation-store.contract.ts). */
export class MemoryReservationStore implements ReservationStore {
  readonly #rows = new Map<string, Reservation>();

  async insert(reservation: Reservation): Promise<void> {
    // Checked and written without an await between them, like the unique index does it.
    const riderHolds = [...this.#rows.values()].some((row) => row.riderId === reservation.riderId && row.status === 'active');
    if (this.#rows.has(reservation.id) || riderHolds) {
      throw Conflict('RESERVATION_EXISTS', 'you already hold a car', { riderId: reservation.riderId });
    }
    this.#rows.set(reservation.id, { ...reservation });
  }

  async remove(id: string): Promise<void> {
    this.#rows.delete(id);
  }

  async find(id: string): Promise<Reservation | undefined> {
    const row = this.#rows.get(id);
    return row && { ...row, extension: row.extension && { ...row.extension } };
  }

  async findActiveByRider(riderId: string): Promise<Reservation | undefined> {
    const row = [...this.#rows.values()].find((candidate) => candidate.riderId === riderId && candidate.status === 'active');
    return row && { ...row };
  }

  async end(ended: Reservation): Promise<boolean> {
    const row = this.#rows.get(ended.id);
    if (row?.status !== 'active') return false;
    this.#rows.set(ended.id, { ...row, status: ended.status, endedAt: ended.endedAt });
    return true;
  }

  async extend(extended: Reservation, now: number): Promise<boolean> {
    const row = this.#rows.get(extended.id);
    if (row?.status !== 'active' || row.extension || row.expiresAt <= now || !extended.extension) return false;
    this.#rows.set(extended.id, { ...row, expiresAt: extended.expiresAt, extension: { ...extended.extension }, feeStatus: extended.feeStatus });
    return true;
  }

  async settleFee(id: string, to: 'on_trip' | 'charged' | 'failed' | 'waived'): Promise<boolean> {
    const row = this.#rows.get(id);
    if (row?.feeStatus !== 'owed') return false;
    this.#rows.set(id, { ...row, feeStatus: to });
    return true;
  }

  async feesOwed(limit: number): Promise<Reservation[]> {
    return [...this.#rows.values()]
      .filter((row) => row.feeStatus === 'owed' && (row.status === 'cancelled' || row.status === 'expired'))
      .sort((a, b) => (a.endedAt ?? 0) - (b.endedAt ?? 0))
      .slice(0, limit)
      .map((row) => ({ ...row }));
  }

  async expiredBy(now: number, limit: number): Promise<Reservation[]> {
    return [...this.#rows.values()]
      .filter((row) => row.status === 'active' && row.expiresAt <= now)
      .sort((a, b) => a.expiresAt - b.expiresAt)
      .slice(0, limit)
      .map((row) => ({ ...row }));
  }
}
