import { Type, type Static } from 'typebox';
import { deadLetterRpcMethods } from './dead-letters.ts';
import { defineRpcService } from './define-rpc-service.ts';

const strict = { additionalProperties: false } as const;
const Uuid = Type.String({ format: 'uuid' });
const Timestamp = Type.String({ format: 'date-time' });

export const ReservationStatus = Type.Union([Type.Literal('active'), Type.Literal('converted'), Type.Literal('cancelled'), Type.Literal('expired')]);

export const Reservation = Type.Object({
  id: Uuid,
  riderId: Uuid,
  carId: Uuid,
  status: ReservationStatus,
  createdAt: Timestamp,
  expiresAt: Timestamp,
  endedAt: Type.Union([Timestamp, Type.Null()]),
});
export type ReservationWire = Static<typeof Reservation>;

export const TripStatus = Type.Union([
  Type.Literal('starting'),
  Type.Literal('in_progress'),
  Type.Literal('paused'),
  Type.Literal('finishing'),
  Type.Literal('finished'),
  Type.Literal('failed'),
]);

export const Trip = Type.Object({
  id: Uuid,
  riderId: Uuid,
  carId: Uuid,
  reservationId: Type.Union([Uuid, Type.Null()]),
  status: TripStatus,
  category: Type.String(),
  depositCents: Type.Integer({ minimum: 0 }),
  paymentId: Type.Union([Uuid, Type.Null()]),
  /** Why a trip ended `failed`: the failed step's reason (PAYMENT_DECLINED, DEVICE_DID_NOT_ANSWER, …). */
  failureReason: Type.Union([Type.String(), Type.Null()]),
  startedAt: Type.Union([Timestamp, Type.Null()]),
  createdAt: Timestamp,
});
export type TripWire = Static<typeof Trip>;

/** The trip service's RPC contract: what callers may ask of it, and how it may fail. */
export const tripRpc = defineRpcService('trip', {
  Reserve: {
    summary: 'Hold an available car for the caller (free for the hold time); one active reservation per rider, and of riders racing for one car exactly one wins',
    input: Type.Object({ carId: Uuid }, strict),
    output: Reservation,
    idempotent: false,
    errors: ['AUTHENTICATION_REQUIRED', 'PROFILE_NOT_VERIFIED', 'RESERVATION_EXISTS', 'CAR_NOT_FOUND', 'CAR_NOT_AVAILABLE'],
  },
  CancelReservation: {
    summary: "Give the reserved car back; cancelling a reservation that already ended answers it as it is",
    input: Type.Object({ reservationId: Uuid }, strict),
    output: Reservation,
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'RESERVATION_NOT_FOUND'],
  },
  GetMyReservation: {
    summary: "The caller's active reservation, or null",
    input: Type.Object({}, strict),
    output: Type.Object({ reservation: Type.Union([Reservation, Type.Null()]) }),
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED'],
  },
  StartTrip: {
    summary:
      'Start a trip on a reserved or a free car (a saga: profile verified, claim, deposit hold, unlock with the device ack); each failure compensates and the trip ends failed. The same tripId joins the same start.',
    input: Type.Object(
      {
        reservationId: Type.Optional(Uuid),
        carId: Type.Optional(Uuid),
        /** Chosen by the caller (the gateway derives it from the Idempotency-Key): a repeat joins the first start. */
        tripId: Type.Optional(Uuid),
      },
      strict,
    ),
    output: Trip,
    idempotent: true,
    errors: [
      'AUTHENTICATION_REQUIRED',
      'CAR_OR_RESERVATION_REQUIRED',
      'RESERVATION_NOT_FOUND',
      'RESERVATION_ENDED',
      'PROFILE_NOT_VERIFIED',
      'CAR_NOT_FOUND',
      'CAR_NOT_AVAILABLE',
      'NO_PAYMENT_METHOD',
      'PAYMENT_DECLINED',
      'PAYMENT_PROVIDER_UNAVAILABLE',
      'DEVICE_REFUSED',
      'DEVICE_DID_NOT_ANSWER',
      'SAGA_IN_PROGRESS',
      'TRIP_START_FAILED',
    ],
  },
  GetTrip: {
    summary: 'One trip: its rider or staff',
    input: Type.Object({ tripId: Uuid }, strict),
    output: Trip,
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'TRIP_NOT_FOUND'],
  },
  ...deadLetterRpcMethods,
});
