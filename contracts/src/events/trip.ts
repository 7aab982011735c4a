import { Type } from 'typebox';
import { defineEvent } from './envelope.ts';

// Subjects of reservation events are the reservation id, of trip events the trip id.

const Uuid = Type.String({ format: 'uuid' });
const Timestamp = Type.String({ format: 'date-time' });
const reservation = { reservationId: Uuid, riderId: Uuid, carId: Uuid };

export const ReservationCreated = defineEvent('reservation.created', 1, Type.Object({ ...reservation, expiresAt: Timestamp }));
export const ReservationCancelled = defineEvent('reservation.cancelled', 1, Type.Object({ ...reservation }));
/** The hold ran out and the sweeper gave the car back. */
export const ReservationExpired = defineEvent('reservation.expired', 1, Type.Object({ ...reservation }));

export const reservationEvents = [ReservationCreated, ReservationCancelled, ReservationExpired] as const;
export const tripEvents = [...reservationEvents] as const;
