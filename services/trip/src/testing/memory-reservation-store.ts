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
    return row && { ...row };
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

  async expiredBy(now: number, limit: number): Promise<Reservation[]> {
    return [...this.#rows.values()]
      .filter((row) => row.status === 'active' && row.expiresAt <= now)
      .sort((a, b) => a.expiresAt - b.expiresAt)
      .slice(0, limit)
      .map((row) => ({ ...row }));
  }
}
