import type { deadLetterRpcMethods, ReservationWire, TripWire, tripRpc } from '@carshare/contracts';
import type { TripRow } from '../adapters/sql-trip-log.ts';
import type { RpcHandlers } from '@carshare/platform';
import type { Reservation } from '../domain/reservation.ts';
import type { TripLifecycle } from '../start-trip.ts';
import type { TripService } from '../trip-service.ts';

const iso = (ms: number) => new Date(ms).toISOString();

function toWireReservation(reservation: Reservation): ReservationWire {
  return {
    id: reservation.id,
    riderId: reservation.riderId,
    carId: reservation.carId,
    status: reservation.status,
    createdAt: iso(reservation.createdAt),
    expiresAt: iso(reservation.expiresAt),
    endedAt: reservation.endedAt === undefined ? null : iso(reservation.endedAt),
  };
}

/** Parse → one use case → map; validation and errors are the RPC server's. */
function toWireTrip(trip: TripRow): TripWire {
  return {
    id: trip.id,
    riderId: trip.riderId,
    carId: trip.carId,
    reservationId: trip.reservationId ?? null,
    status: trip.status,
    category: trip.category,
    depositCents: trip.depositCents,
    paymentId: trip.paymentId ?? null,
    failureReason: trip.failureReason ?? null,
    startedAt: trip.startedAt === undefined ? null : iso(trip.startedAt),
    createdAt: iso(trip.createdAt),
  };
}

/** The trip service's own methods; the dead-letter ones are messaging's handlers. */
type TripMethods = Omit<typeof tripRpc.methods, keyof typeof deadLetterRpcMethods>;

export function tripRpcHandlers(service: TripService & TripLifecycle): RpcHandlers<TripMethods> {
  return {
    Reserve: async (input, ctx) => toWireReservation(await service.reserve(input, ctx.caller, ctx)),
    CancelReservation: async (input, ctx) => toWireReservation(await service.cancelReservation(input, ctx.caller, ctx)),
    StartTrip: async (input, ctx) => toWireTrip(await service.startTrip(input, ctx.caller, ctx)),
    GetTrip: async (input, ctx) => toWireTrip(await service.getTrip(input, ctx.caller)),
    GetMyReservation: async (_input, ctx) => {
      const reservation = await service.getMyReservation(ctx.caller);
      return { reservation: reservation ? toWireReservation(reservation) : null };
    },
  };
}
