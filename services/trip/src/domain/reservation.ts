import type { Fee } from './pricing.ts';
import { canReservationBecome, type ReservationStatus } from './trip-states.ts';

/** The one paid extension of a hold; times are epoch milliseconds. */
export interface ReservationExtension {
  at: number;
  minutes: number;
  feeCents: number;
  currency: string;
}

/**
 * Where an extension fee stands: `owed` until the reservation ends; `on_trip` once it became a
 * trip (the fee is a line of that trip's receipt, captured with it); `charged` once charged on
 * its own after a cancel or an expiry, `failed` when the rider's card refused it for good (left to
 * an operator); `waived` when it was nothing to charge.
 */
export type ExtensionFeeStatus = 'owed' | 'on_trip' | 'charged' | 'failed' | 'waived';

/** A rider's free hold on one car (DOMAIN.md Reservation); times are epoch milliseconds. */
export interface Reservation {
  id: string;
  riderId: string;
  carId: string;
  status: ReservationStatus;
  createdAt: number;
  expiresAt: number;
  endedAt: number | undefined;
  /** Set once the hold was extended; never twice. */
  extension: ReservationExtension | undefined;
  /** Undefined while there is no extension. */
  feeStatus: ExtensionFeeStatus | undefined;
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
    extension: undefined,
    feeStatus: undefined,
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

export type ExtensionRefusal =
  /** Ended (converted, cancelled, expired), or active but past its deadline and not swept yet. */
  | 'not_active'
  | 'already_extended';

/**
 * The hold extended once by `minutes` from its current deadline, for `feeCents`; or why not. An
 * extension bought in the last second still gets its full minutes: the deadline moves, it does
 * not restart from now.
 */
export function extendReservation(
  reservation: Reservation,
  input: { now: number; minutes: number; feeCents: number; currency: string },
): { extended: Reservation } | { refused: ExtensionRefusal } {
  if (!isHolding(reservation, input.now)) return { refused: 'not_active' };
  if (reservation.extension) return { refused: 'already_extended' };
  return {
    extended: {
      ...reservation,
      expiresAt: reservation.expiresAt + input.minutes * minuteMs,
      extension: { at: input.now, minutes: input.minutes, feeCents: input.feeCents, currency: input.currency },
      feeStatus: input.feeCents > 0 ? 'owed' : 'waived',
    },
  };
}

/** The fee a trip started from this reservation carries on its receipt, if the hold was extended for one. */
export function extensionFee(reservation: Pick<Reservation, 'extension'> | undefined): Fee | undefined {
  const extension = reservation?.extension;
  if (!extension || extension.feeCents <= 0) return undefined;
  return { code: 'reservation_extension', description: `Reservation extended by ${extension.minutes} min`, cents: extension.feeCents };
}

/**
 * The extension fee lines a trip started from this reservation carries: the fee while it is still
 * owed (the trip takes it when priced) or once the trip took it; none when it was charged alone,
 * waived or failed elsewhere, so a fee is never on a receipt and charged on its own too.
 */
export function tripExtensionFees(reservation: Pick<Reservation, 'extension' | 'feeStatus'> | undefined): Fee[] {
  const fee = extensionFee(reservation);
  return fee && (reservation?.feeStatus === 'owed' || reservation?.feeStatus === 'on_trip') ? [fee] : [];
}

/**
 * Start failures that are the rider's own doing: their licence, their card. The hold they paid to
 * extend was theirs to use, so its fee stands. Every other failure is ours (the car did not unlock,
 * a service or the processor was down, the start ran out of time): the rider could not use the car
 * they held, so the fee is waived (ADR 0028).
 */
const riderSideStartFailures: ReadonlySet<string> = new Set(['PROFILE_NOT_VERIFIED', 'PAYMENT_DECLINED', 'NO_PAYMENT_METHOD']);

/** What becomes of an owed extension fee when the trip started from the reservation failed with `reason`. */
export function extensionFeeAfterFailedStart(reason: string): 'charge' | 'waive' {
  return riderSideStartFailures.has(reason) ? 'charge' : 'waive';
}

/** An ended reservation whose extension fee no trip carries: it is charged on its own. */
export function owesFeeAlone(reservation: Reservation): boolean {
  return reservation.feeStatus === 'owed' && (reservation.status === 'cancelled' || reservation.status === 'expired');
}
