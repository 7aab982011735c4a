import { ReservationCancelled, ReservationCreated, ReservationExpired } from '@carshare/contracts';
import { Conflict, isAppError, NotFound, Unauthenticated, type CallContext, type Caller } from '@carshare/platform';
import { endReservation, isHolding, newReservation, type Reservation } from './domain/reservation.ts';
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

/** The trip service's use cases: each takes what the caller sent and who the caller is. */
export function createTripService(ports: TripPorts) {
  const { reservations, unitOfWork, events, cars, profiles, settings, clock, ids } = ports;

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
    return endedHere ? ended : ((await reservations.find(reservation.id)) ?? ended);
  }

  return {
    async reserve(input: { carId: string }, caller: Caller | undefined, ctx?: CallContext): Promise<Reservation> {
      const rider = requireCaller(caller);
      const on = { riderId: rider.userId, ctx };
      if (!(await profiles.isVerified(on))) {
        throw Conflict('PROFILE_NOT_VERIFIED', 'your driving licence is not verified yet', { userId: rider.userId });
      }
      const existing = await reservations.findActiveByRider(rider.userId);
      if (existing && isHolding(existing, clock.now())) {
        throw Conflict('RESERVATION_EXISTS', 'you already hold a car', { reservationId: existing.id, carId: existing.carId });
      }
      // Past its hold but not swept yet: expire it now rather than refuse the rider.
      if (existing) await endHold(existing, 'expired', ctx);

      const reservation = newReservation({ id: ids.next(), riderId: rider.userId, carId: input.carId, now: clock.now(), holdMinutes: settings.get().reservations.holdMinutes });
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
  };
}

export type TripService = ReturnType<typeof createTripService>;
