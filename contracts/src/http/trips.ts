import { Type } from 'typebox';
import { Receipt, Reservation, Trip, TripPage, TripStatus, TripTimeline, TripView, ZoneCollection } from '../rpc/trip.ts';
import { Cursor, PageLimit } from '../rpc/user.ts';
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
  extendReservation: defineHttpRoute({
    method: 'POST',
    url: '/v1/reservations/:id/extend',
    summary:
      'Hold my reserved car longer, once, for a fee (a line on the trip receipt, or charged alone if no trip follows): expiresAt moves; a second extension or an ended reservation is a 409 with its state',
    tags: ['trips'],
    access: 'user',
    params: IdParams,
    successStatus: 200,
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
    summary: 'One of my trips (staff: any), with the fee so far while it runs (minutes, distance from telemetry, the trip tariff)',
    tags: ['trips'],
    access: 'user',
    params: IdParams,
    successStatus: 200,
    response: TripView,
  }),
  list: defineHttpRoute({
    method: 'GET',
    url: '/v1/trips',
    summary: 'My trips, newest first',
    tags: ['trips'],
    access: 'user',
    querystring: Type.Object({ limit: PageLimit, cursor: Type.Optional(Cursor) }, strict),
    successStatus: 200,
    response: TripPage,
  }),
  finish: defineHttpRoute({
    method: 'POST',
    url: '/v1/trips/:id/finish',
    summary:
      'End my trip: inside a home or drop-off zone (else 409 with the nearest one), the car locked with its ack (else 503/504 and the trip goes on), priced, the deposit captured',
    tags: ['trips'],
    access: 'user',
    idempotencyKey: 'required',
    params: IdParams,
    successStatus: 200,
    response: Trip,
  }),
  pause: defineHttpRoute({
    method: 'POST',
    url: '/v1/trips/:id/pause',
    summary: 'Park during my trip: the car locks; minutes bill at the parking rate until resume',
    tags: ['trips'],
    access: 'user',
    params: IdParams,
    successStatus: 200,
    response: Trip,
  }),
  resume: defineHttpRoute({
    method: 'POST',
    url: '/v1/trips/:id/resume',
    summary: 'Drive on after a pause: the car unlocks',
    tags: ['trips'],
    access: 'user',
    params: IdParams,
    successStatus: 200,
    response: Trip,
  }),
  receipt: defineHttpRoute({
    method: 'GET',
    url: '/v1/trips/:id/receipt',
    summary: "A finished trip's receipt: unlock, minutes, km, fees, package cap, deposit released, total and VAT",
    tags: ['trips'],
    access: 'user',
    params: IdParams,
    successStatus: 200,
    response: Receipt,
  }),
  receiptPdf: defineHttpRoute({
    method: 'GET',
    url: '/v1/trips/:id/receipt.pdf',
    summary: "A finished trip's receipt as a PDF document",
    tags: ['trips'],
    access: 'user',
    params: IdParams,
    successStatus: 200,
    response: Type.Unsafe<Uint8Array>({ type: 'string', format: 'binary', description: 'application/pdf' }),
  }),
  /** The operating areas, for the apps' maps (anyone). */
  zones: defineHttpRoute({
    method: 'GET',
    url: '/v1/zones',
    summary: 'Operating areas as GeoJSON: where a trip may end (home), may end for a fee (drop-off), may not park',
    tags: ['trips'],
    access: 'public',
    successStatus: 200,
    response: ZoneCollection,
  }),
  // Operators' view of trips. Refunds go through `POST /v1/admin/payments/:id/refund` with the
  // trip's paymentId: one audited refund path, the payment service's.
  adminList: defineHttpRoute({
    method: 'GET',
    url: '/v1/admin/trips',
    summary: 'Every trip, newest first, filtered by status, rider, car and creation time (from inclusive, to exclusive)',
    tags: ['admin', 'trips'],
    access: 'operator',
    querystring: Type.Object(
      {
        limit: PageLimit,
        cursor: Type.Optional(Cursor),
        status: Type.Optional(TripStatus),
        riderId: Type.Optional(Uuid),
        carId: Type.Optional(Uuid),
        from: Type.Optional(Type.String({ format: 'date-time' })),
        to: Type.Optional(Type.String({ format: 'date-time' })),
      },
      strict,
    ),
    successStatus: 200,
    response: TripPage,
  }),
  adminTimeline: defineHttpRoute({
    method: 'GET',
    url: '/v1/admin/trips/:id/timeline',
    summary: "A trip's append-only event log, with its start and finish sagas step by step",
    tags: ['admin', 'trips'],
    access: 'operator',
    params: IdParams,
    successStatus: 200,
    response: TripTimeline,
  }),
};
