import { ReservationCancelled, ReservationCreated, ReservationExpired, ReservationExtended } from '@carshare/contracts';
import { Conflict, isAppError, NotFound, PermissionDenied, Unauthenticated, type CallContext, type Caller } from '@carshare/platform';
import { endReservation, extendReservation, extensionFeeAfterFailedStart, isHolding, newReservation, owesFeeAlone, type Reservation } from './domain/reservation.ts';
import type { TripPorts, TripTransaction } from './ports.ts';

function requireCaller(caller: Caller | undefined): Caller {
  if (!caller) throw Unauthenticated('AUTHENTICATION_REQUIRED', 'sign in first');
  return caller;
}

const isStaff = (caller: Caller) => caller.role === 'operator' || caller.role === 'admin';

/** The car service refused for good (not found, taken): the claim certainly did not happen. */
function isDefiniteRefusal(error: unknown): boolean {
  return isAppError(error) && (error.code === 'FAILED_PRECONDITION' || error.code === 'NOT_FOUND' || error.code === 'INVALID_ARGUMENT' || error.code === 'PERMISSION_DENIED');
}

/** A release the car service no longer needs: someone else holds the car now, so it is not ours to give back. */
function isAlreadyReleased(error: unknown): boolean {
  return isAppError(error) && (error.reason === 'NOT_YOUR_CAR' || error.reason === 'CAR_NOT_FOUND');
}

/** The payment reference of a reservation's extension fee: one charge per reservation, whatever retries. */
export const extensionFeeReference = (reservationId: string) => `reservation-extension:${reservationId}`;

/** Riders known to have confirmed their address, kept at most this many (a confirmation is never taken back). */
const maxConfirmedRiders = 100_000;

/** The trip service's use cases: each takes what the caller sent and who the caller is. */
export function createTripService(ports: TripPorts) {
  const { reservations, unitOfWork, events, cars, profiles, accounts, payments, settings, clock, ids } = ports;
  // An address once confirmed stays confirmed (the user service never unsets it), so a yes is
  // remembered and a rider asks the user service once per process, not once per reservation.
  const confirmedRiders = new Set<string>();

  /** DOMAIN: unverified accounts may log in but not reserve (nor take a free car, which reserves it). */
  async function requireConfirmedEmail(riderId: string, ctx: CallContext | undefined): Promise<void> {
    if (confirmedRiders.has(riderId)) return;
    if (!(await accounts.isEmailVerified({ riderId, ctx }))) {
      throw PermissionDenied('EMAIL_NOT_VERIFIED', 'confirm your email address first: follow the link in the mail we sent you', { userId: riderId });
    }
    if (confirmedRiders.size >= maxConfirmedRiders) confirmedRiders.clear();
    confirmedRiders.add(riderId);
  }

  const reservationData = (reservation: Reservation) => ({ reservationId: reservation.id, riderId: reservation.riderId, carId: reservation.carId });

  async function releaseCar(reservation: Reservation, ctx: CallContext | undefined): Promise<void> {
    try {
      await cars.release({ carId: reservation.carId, reservationId: reservation.id }, { riderId: reservation.riderId, ctx });
    } catch (error) {
      if (!isAlreadyReleased(error)) throw error;
    }
  }

  /**
   * Gives the car back, then ends the reservation as `to` with its event. The car goes first: if
   * this fails half way the reservation is still active and a retry or the sweeper finishes it
   * (release is idempotent). Answers the reservation as stored afterwards.
   */
  async function endHold(reservation: Reservation, to: 'cancelled' | 'expired', ctx: CallContext | undefined): Promise<Reservation> {
    await releaseCar(reservation, ctx);
    const ended = endReservation(reservation, to, clock.now());
    if (!ended) return reservation;
    const endedHere = await unitOfWork.run(async (tx: TripTransaction) => {
      if (!(await tx.reservations.end(ended))) return false;
      const definition = to === 'cancelled' ? ReservationCancelled : ReservationExpired;
      await tx.events.add(events.create(definition, ended.id, reservationData(ended)));
      return true;
    });
    // Lost a race with the sweeper, a cancel or a trip start: the stored outcome is the answer.
    const after = endedHere ? ended : ((await reservations.find(reservation.id)) ?? ended);
    if (owesFeeAlone(after)) {
      try {
        await chargeFeeAlone(after, ctx);
      } catch {
        // Still owed: the next sweep charges it (same reference, so never twice).
      }
    }
    return after;
  }

  /**
   * The extension fee of a hold that ended without a trip, charged on its own by the payment
   * service under one reference per reservation: asked again (a retry, a sweep, a race) it finds
   * the same fee and charges once. A refusal stays with the payment service for an operator (its
   * failed-fee queue), so here the fee is `failed`; anything it took over is `charged` from ours.
   */
  async function chargeFeeAlone(reservation: Reservation, ctx: CallContext | undefined): Promise<void> {
    const extension = reservation.extension;
    const fee = extension?.feeCents ?? 0;
    const description = `Reservation extended by ${extension?.minutes ?? 0} min`;
    const charged = await payments.chargeFee({ riderId: reservation.riderId, reference: extensionFeeReference(reservation.id), amountCents: fee, description }, { riderId: reservation.riderId, ctx });
    await reservations.settleFee(reservation.id, charged.status === 'failed' ? 'failed' : 'charged');
  }

  /**
   * The owed extension fee of a reservation whose trip failed to start: waived when the failure
   * was ours, charged alone when it was the rider's (ADR 0028). Safe to repeat and to race: the
   * waiver moves the fee only from `owed`, the charge is one payment per reservation.
   */
  async function settleFeeOfFailedStart(reservationId: string, reason: string, ctx: CallContext | undefined): Promise<Reservation | undefined> {
    const reservation = await reservations.find(reservationId);
    if (!reservation || reservation.status !== 'converted' || reservation.feeStatus !== 'owed') return reservation;
    if (extensionFeeAfterFailedStart(reason) === 'waive') await reservations.settleFee(reservation.id, 'waived');
    else await chargeFeeAlone(reservation, ctx);
    return reservations.find(reservationId);
  }

  return {
    settleFeeOfFailedStart,

    async reserve(input: { carId: string }, caller: Caller | undefined, ctx?: CallContext): Promise<Reservation> {
      const rider = requireCaller(caller);
      const on = { riderId: rider.userId, ctx };
      // Both asked at once: the address check adds no waiting to a reservation.
      const [, licenceVerified] = await Promise.all([requireConfirmedEmail(rider.userId, ctx), profiles.isVerified(on)]);
      if (!licenceVerified) {
        throw Conflict('PROFILE_NOT_VERIFIED', 'your driving licence is not verified yet', { userId: rider.userId });
      }
      const existing = await reservations.findActiveByRider(rider.userId);
      if (existing && isHolding(existing, clock.now())) {
        throw Conflict('RESERVATION_EXISTS', 'you already hold a car', { reservationId: existing.id, carId: existing.carId });
      }
      // Past its hold but not swept yet: expire it now rather than refuse the rider.
      if (existing) await endHold(existing, 'expired', ctx);

      const reservation = newReservation({ id: ids.next(), riderId: rider.userId, carId: input.carId, now: clock.now(), holdMinutes: settings.get().reservations.holdMinutes });
      ports.idleRiders?.forget(rider.userId);
      // The rider's row first: the unique index lets one of a rider's concurrent Reserves through.
      await reservations.insert(reservation);
      try {
        await cars.claim({ carId: reservation.carId, reservationId: reservation.id }, on);
      } catch (error) {
        // A refused claim held nothing. A claim in doubt (timeout, outage) may have: give it back,
        // and if even that fails keep the row, whose expiry makes the sweeper release the car.
        if (isDefiniteRefusal(error)) {
          await reservations.remove(reservation.id);
        } else {
          try {
            await cars.release({ carId: reservation.carId, reservationId: reservation.id }, on);
            await reservations.remove(reservation.id);
          } catch {
            // Left to the sweeper.
          }
        }
        throw error;
      }
      await unitOfWork.run((tx) => tx.events.add(events.create(ReservationCreated, reservation.id, { ...reservationData(reservation), expiresAt: new Date(reservation.expiresAt).toISOString() })));
      // Again once stored: a /v1/me read that ran meanwhile may have seen nothing yet.
      ports.idleRiders?.forget(rider.userId);
      return reservation;
    },

    async cancelReservation(input: { reservationId: string }, caller: Caller | undefined, ctx?: CallContext): Promise<Reservation> {
      const who = requireCaller(caller);
      const reservation = await reservations.find(input.reservationId);
      // Someone else's reservation is "not found": its existence is not theirs to learn.
      if (!reservation || (reservation.riderId !== who.userId && !isStaff(who))) {
        throw NotFound('RESERVATION_NOT_FOUND', `no reservation ${input.reservationId}`, { reservationId: input.reservationId });
      }
      if (reservation.status !== 'active') return reservation;
      return endHold(reservation, 'cancelled', ctx);
    },

    /**
     * One paid extension of the rider's own hold: the deadline moves by the configured minutes
     * (read live, like the hold itself) and the configured fee is owed. Refused with the
     * reservation's current state when it is no longer holding or was extended already.
     */
    async extendReservation(input: { reservationId: string }, caller: Caller | undefined): Promise<Reservation> {
      const who = requireCaller(caller);
      const reservation = await reservations.find(input.reservationId);
      if (!reservation || reservation.riderId !== who.userId) {
        throw NotFound('RESERVATION_NOT_FOUND', `no reservation ${input.reservationId}`, { reservationId: input.reservationId });
      }
      const { extensionMinutes, extensionFeeCents } = settings.get().reservations;
      const now = clock.now();
      const outcome = extendReservation(reservation, { now, minutes: extensionMinutes, feeCents: extensionFeeCents, currency: feeCurrency() });
      if ('refused' in outcome) throw extensionRefused(outcome.refused, reservation, now);
      const { extended } = outcome;
      const won = await unitOfWork.run(async (tx) => {
        if (!(await tx.reservations.extend(extended, now))) return false;
        const extension = extended.extension as NonNullable<Reservation['extension']>;
        await tx.events.add(
          events.create(ReservationExtended, extended.id, {
            ...reservationData(extended),
            expiresAt: new Date(extended.expiresAt).toISOString(),
            minutes: extension.minutes,
            feeCents: extension.feeCents,
            currency: extension.currency,
          }),
        );
        return true;
      });
      if (won) return extended;
      // Another extension, a cancel, a trip start or the sweeper got there first: say which.
      const current = (await reservations.find(reservation.id)) ?? reservation;
      throw extensionRefused(current.extension ? 'already_extended' : 'not_active', current, now);
    },

    /** A free car taken without a reservation reserves it too: the same address rule applies. */
    async requireMayReserve(caller: Caller | undefined, ctx?: CallContext): Promise<void> {
      await requireConfirmedEmail(requireCaller(caller).userId, ctx);
    },

    async getMyReservation(caller: Caller | undefined): Promise<Reservation | undefined> {
      const rider = requireCaller(caller);
      const reservation = await reservations.findActiveByRider(rider.userId);
      return reservation && isHolding(reservation, clock.now()) ? reservation : undefined;
    },

    /**
     * One sweep: every hold that ran out gives its car back. A car service that fails one release
     * does not stop the others; that reservation stays active and the next sweep tries again.
     */
    async expireReservations(limit = 100): Promise<{ expired: number; failed: { reservationId: string; error: unknown }[] }> {
      const due = await reservations.expiredBy(clock.now(), limit);
      let expired = 0;
      const failed: { reservationId: string; error: unknown }[] = [];
      for (const reservation of due) {
        try {
          const after = await endHold(reservation, 'expired', undefined);
          if (after.status === 'expired') expired += 1;
        } catch (error) {
          failed.push({ reservationId: reservation.id, error });
        }
      }
      return { expired, failed };
    },

    /** Extension fees of holds that ended without a trip (or whose trip failed to start) and were not settled yet: another try each. */
    async chargeOwedFees(limit = 100): Promise<{ charged: number; failed: { reservationId: string; error: unknown }[] }> {
      let charged = 0;
      const failed: { reservationId: string; error: unknown }[] = [];
      for (const reservation of await reservations.feesOwed(limit)) {
        try {
          await chargeFeeAlone(reservation, undefined);
          charged += 1;
        } catch (error) {
          failed.push({ reservationId: reservation.id, error });
        }
      }
      // A start that failed where nobody settled its fee (the instance crashed and the saga was
      // compensated on recovery, or the charge did not get through): decided from the saga's error.
      for (const owing of (await ports.failedStarts?.owing(limit)) ?? []) {
        try {
          const reason = await ports.failedStarts?.reasonOf(owing.tripId);
          if (reason === undefined) continue;
          const after = await settleFeeOfFailedStart(owing.reservationId, reason, undefined);
          if (after?.feeStatus === 'charged') charged += 1;
        } catch (error) {
          failed.push({ reservationId: owing.reservationId, error });
        }
      }
      return { charged, failed };
    },
  };

  /** Every category's tariff has the same currency on this platform; the fee is in it. */
  function feeCurrency(): string {
    return settings.get().tariffs.byCategory.compact.currency;
  }
}

function extensionRefused(refusal: 'not_active' | 'already_extended', reservation: Reservation, now: number) {
  const details = {
    reservationId: reservation.id,
    current: reservation.status === 'active' && now >= reservation.expiresAt ? 'expired' : reservation.status,
    expiresAt: new Date(reservation.expiresAt).toISOString(),
    extendedAt: reservation.extension ? new Date(reservation.extension.at).toISOString() : null,
  };
  return refusal === 'already_extended'
    ? Conflict('RESERVATION_ALREADY_EXTENDED', 'a reservation can be extended once', details)
    : Conflict('RESERVATION_NOT_ACTIVE', `the reservation is ${details.current}: only an active hold can be extended`, details);
}

export type TripService = ReturnType<typeof createTripService>;
