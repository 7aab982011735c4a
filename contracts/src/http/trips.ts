import { Type } from 'typebox';
import { Reservation, Trip } from '../rpc/trip.ts';
import { defineHttpRoute } from './define-http-route.ts';

const strict = { additionalProperties: false } as const;
const Uuid = Type.String({ format: 'uuid' });
const IdParams = Type.Object({ id: Uuid }, strict);

/** A rider's reservations and trips. */
export const tripRoutes = {
  reserve: defineHttpRoute({
    method: 'POST',
    url: '/v1/reservations',
    summary: 'Hold a car for free for the hold time (one at a time; of riders racing for a car one wins)',
    tags: ['trips'],
    access: 'user',
    body: Type.Object({ carId: Uuid }, strict),
    successStatus: 201,
    response: Reservation,
  }),
  cancelReservation: defineHttpRoute({
    method: 'DELETE',
    url: '/v1/reservations/:id',
    summary: 'Give the reserved car back',
    tags: ['trips'],
    access: 'user',
    params: IdParams,
    successStatus: 200,
    response: Reservation,
  }),
  start: defineHttpRoute({
    method: 'POST',
    url: '/v1/trips',
    summary: 'Start a trip on my reservation or a free car: profile verified, car claimed, deposit held, unlocked; a failure compensates and answers why',
    tags: ['trips'],
    access: 'user',
    idempotencyKey: 'required',
    body: Type.Object({ reservationId: Type.Optional(Uuid), carId: Type.Optional(Uuid) }, strict),
    successStatus: 201,
    response: Trip,
  }),
  get: defineHttpRoute({
    method: 'GET',
    url: '/v1/trips/:id',
    summary: 'One of my trips (staff: any)',
    tags: ['trips'],
    access: 'user',
    params: IdParams,
    successStatus: 200,
    response: Trip,
  }),
};
