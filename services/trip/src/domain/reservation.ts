import { canReservationBecome, type ReservationStatus } from './trip-states.ts';

/** A rider's free hold on one car (DOMAIN.md Reservation); times are epoch milliseconds. */
export interface Reservation {
  id: string;
  riderId: string;
  carId: string;
  status: ReservationStatus;
  createdAt: number;
  expiresAt: number;
  endedAt: number | undefined;
}

const minuteMs = 60_000;

export function newReservation(input: { id: string; riderId: string; carId: string; now: number; holdMinutes: number }): Reservation {
  return {
    id: input.id,
    riderId: input.riderId,
    carId: input.carId,
    status: 'active',
    createdAt: input.now,
    expiresAt: input.now + input.holdMinutes * minuteMs,
    endedAt: undefined,
  };
}

/** The reservation ended as `to`, or undefined when it may no longer go there (already ended). */
export function endReservation(reservation: Reservation, to: Exclude<ReservationStatus, 'active'>, now: number): Reservation | undefined {
  if (!canReservationBecome(reservation.status, to)) return undefined;
  return { ...reservation, status: to, endedAt: now };
}

/** Still holding the car at `now`: active and before its deadline (the sweeper may be late). */
export function isHolding(reservation: Reservation, now: number): boolean {
  return reservation.status === 'active' && now < reservation.expiresAt;
}
