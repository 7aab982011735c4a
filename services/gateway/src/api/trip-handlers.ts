import { tripRoutes, type tripRpc } from '@carshare/contracts';
import type { HttpServer, RpcClient } from '@carshare/platform';
import { registerPublicRoute, type PublicRouteDeps } from './public-route.ts';

/** REST → RPC for the trip service: each route is one call. */
export function registerTripRoutes(app: HttpServer, deps: PublicRouteDeps, trip: RpcClient<typeof tripRpc.methods>): void {
  registerPublicRoute(app, tripRoutes.reserve, deps, ({ body, ctx }) => trip.Reserve(body, ctx));
  registerPublicRoute(app, tripRoutes.cancelReservation, deps, ({ params, ctx }) => trip.CancelReservation({ reservationId: params.id }, ctx));
  // The gateway replays a repeated Idempotency-Key (and refuses it with another body); the trip
  // service's own guard against a second start is the rider's one live trip.
  registerPublicRoute(app, tripRoutes.start, deps, ({ body, ctx }) => trip.StartTrip(body, ctx));
  registerPublicRoute(app, tripRoutes.get, deps, ({ params, ctx }) => trip.GetTrip({ tripId: params.id }, ctx));
}
