/**
 * The reservation and trip state machines of DOMAIN.md as transition tables. A trip's paused
 * state is explicit (the car is locked and minutes bill at the parking rate), and a paused trip
 * may be finished without resuming first.
 */
export const reservationStatuses = ['active', 'converted', 'cancelled', 'expired'] as const;
export type ReservationStatus = (typeof reservationStatuses)[number];

const reservationTransitions: Record<ReservationStatus, readonly ReservationStatus[]> = {
  active: ['converted', 'cancelled', 'expired'],
  converted: [],
  cancelled: [],
  expired: [],
};

export function canReservationBecome(from: ReservationStatus, to: ReservationStatus): boolean {
  return reservationTransitions[from].includes(to);
}

export const tripStatuses = ['starting', 'in_progress', 'paused', 'finishing', 'finished', 'failed'] as const;
export type TripStatus = (typeof tripStatuses)[number];

const tripTransitions: Record<TripStatus, readonly TripStatus[]> = {
  starting: ['in_progress', 'failed'],
  in_progress: ['paused', 'finishing'],
  paused: ['in_progress', 'finishing'],
  // A finish whose lock was refused by the car goes back to where it was.
  finishing: ['finished', 'in_progress', 'paused'],
  finished: [],
  failed: [],
};

export function canTripBecome(from: TripStatus, to: TripStatus): boolean {
  return tripTransitions[from].includes(to);
}

export const tripPaymentStatuses = ['pending', 'captured', 'failed'] as const;
export type TripPaymentStatus = (typeof tripPaymentStatuses)[number];

const paymentTransitions: Record<TripPaymentStatus, readonly TripPaymentStatus[]> = {
  pending: ['captured', 'failed'],
  // A failed capture is retried by the payment service's worker and may still succeed.
  failed: ['captured'],
  captured: [],
};

export function canTripPaymentBecome(from: TripPaymentStatus, to: TripPaymentStatus): boolean {
  return paymentTransitions[from].includes(to);
}
