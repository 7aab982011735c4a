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
  ...deadLetterRpcMethods,
});
