import { Type } from 'typebox';
import { defineEvent } from './envelope.ts';

// Subjects of reservation events are the reservation id, of trip events the trip id.

const Uuid = Type.String({ format: 'uuid' });
const Timestamp = Type.String({ format: 'date-time' });
const reservation = { reservationId: Uuid, riderId: Uuid, carId: Uuid };
const trip = { tripId: Uuid, riderId: Uuid, carId: Uuid };

export const ReservationCreated = defineEvent('reservation.created', 1, Type.Object({ ...reservation, expiresAt: Timestamp }));
export const ReservationCancelled = defineEvent('reservation.cancelled', 1, Type.Object({ ...reservation }));
/** The hold was extended (once): it now ends at `expiresAt`, and `feeCents` is owed for it. */
export const ReservationExtended = defineEvent(
  'reservation.extended',
  1,
  Type.Object({ ...reservation, expiresAt: Timestamp, minutes: Type.Integer(), feeCents: Type.Integer(), currency: Type.String() }),
);
/** The hold ran out and the sweeper gave the car back. */
export const ReservationExpired = defineEvent('reservation.expired', 1, Type.Object({ ...reservation }));

export const reservationEvents = [ReservationCreated, ReservationExtended, ReservationCancelled, ReservationExpired] as const;

/** The saga unlocked the car and holds the deposit: the trip is billed from `startedAt`. */
export const TripStarted = defineEvent('trip.started', 1, Type.Object({ ...trip, category: Type.String(), tariffVersion: Type.String(), depositCents: Type.Integer(), startedAt: Timestamp }));
/** The start compensated: nothing is held or charged. */
export const TripFailed = defineEvent('trip.failed', 1, Type.Object({ ...trip, reason: Type.String() }));
/** The car locked for a parking pause: minutes bill at the parking rate from `at`. */
export const TripPaused = defineEvent('trip.paused', 1, Type.Object({ ...trip, at: Timestamp }));
export const TripResumed = defineEvent('trip.resumed', 1, Type.Object({ ...trip, at: Timestamp, pausedMs: Type.Integer() }));
/**
 * The car is locked and the trip priced. `paymentStatus` is `pending` when the capture waits for
 * the payment service's retry (the amount is fixed either way).
 */
export const TripFinished = defineEvent(
  'trip.finished',
  1,
  Type.Object({
    ...trip,
    finishedAt: Timestamp,
    totalCents: Type.Integer(),
    currency: Type.String(),
    distanceM: Type.Number(),
    zoneId: Type.String(),
    paymentStatus: Type.Union([Type.Literal('captured'), Type.Literal('pending')]),
  }),
);

export const tripLifecycleEvents = [TripStarted, TripFailed, TripPaused, TripResumed, TripFinished] as const;
export const tripEvents = [...reservationEvents, ...tripLifecycleEvents] as const;
