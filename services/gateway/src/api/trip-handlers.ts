import { carRoutes, tripRoutes, type carRpc, type tripRpc } from '@carshare/contracts';
import type { HttpServer, RpcClient } from '@carshare/platform';
import { gbfsGeofencingZones, geofencingZonesPath } from './gbfs-handlers.ts';
import { registerPublicRoute, type PublicRouteDeps } from './public-route.ts';

/**
 * REST → RPC for the trip service: each route is one call, except the price preview, which first
 * reads the car's category from the car service (absent when the composition runs without one).
 */
export function registerTripRoutes(app: HttpServer, deps: PublicRouteDeps, trip: RpcClient<typeof tripRpc.methods>, car?: RpcClient<typeof carRpc.methods>): void {
  registerPublicRoute(app, tripRoutes.reserve, deps, ({ body, ctx }) => trip.Reserve(body, ctx));
  // A retried extend with the same Idempotency-Key replays the first answer at the edge; behind it
  // the trip service sells one extension per reservation whatever the key.
  registerPublicRoute(app, tripRoutes.extendReservation, deps, ({ params, ctx }) => trip.ExtendReservation({ reservationId: params.id }, ctx));
  registerPublicRoute(app, tripRoutes.cancelReservation, deps, ({ params, ctx }) => trip.CancelReservation({ reservationId: params.id }, ctx));
  // The gateway replays a repeated Idempotency-Key (and refuses it with another body); the trip
  // service's own guard against a second start is the rider's one live trip.
  registerPublicRoute(app, tripRoutes.start, deps, ({ body, ctx }) => trip.StartTrip(body, ctx));
  registerPublicRoute(app, tripRoutes.get, deps, ({ params, ctx }) => trip.GetTrip({ tripId: params.id }, ctx));
  registerPublicRoute(app, tripRoutes.list, deps, ({ query, ctx }) => trip.ListMyTrips(query, ctx));
  // The key makes a retried finish answer the first one at the edge; behind it the trip service
  // finishes a trip once whatever the key (a finished trip answers as it is, one capture).
  registerPublicRoute(app, tripRoutes.finish, deps, ({ params, ctx }) => trip.FinishTrip({ tripId: params.id }, ctx));
  registerPublicRoute(app, tripRoutes.pause, deps, ({ params, ctx }) => trip.PauseTrip({ tripId: params.id }, ctx));
  registerPublicRoute(app, tripRoutes.resume, deps, ({ params, ctx }) => trip.ResumeTrip({ tripId: params.id }, ctx));
  registerPublicRoute(app, tripRoutes.receipt, deps, ({ params, ctx }) => trip.GetReceipt({ tripId: params.id }, ctx));
  // In a plugin of its own so its onSend hook sees only this route: the bytes go out as a PDF,
  // an error as the usual JSON.
  void app.register(async (child) => {
    // The same server in its own hook scope; register's typings drop the logger and type provider.
    const pdfRoutes = child as unknown as HttpServer;
    pdfRoutes.addHook('onSend', async (_request, reply, payload) => {
      if (Buffer.isBuffer(payload)) void reply.header('content-type', 'application/pdf').header('content-disposition', 'inline; filename="receipt.pdf"');
      return payload;
    });
    registerPublicRoute(pdfRoutes, tripRoutes.receiptPdf, deps, async ({ params, ctx }) => {
      const pdf = await trip.GetReceiptPdf({ tripId: params.id }, ctx);
      return Buffer.from(pdf.contentBase64, 'base64');
    });
  });
  if (car) {
    // An unknown car is the car service's 404; the trip service then prices its category from the live table.
    registerPublicRoute(app, carRoutes.pricePreview, deps, async ({ params, query, ctx }) => {
      const { category } = await car.GetCar({ carId: params.id }, ctx);
      return trip.PreviewPrice({ category, minutes: query.minutes, km: query.km }, ctx);
    });
  }
  registerPublicRoute(app, tripRoutes.zones, deps, ({ ctx }) => trip.GetZones({}, ctx));
  app.get(geofencingZonesPath, { schema: { summary: 'GBFS geofencing zones: where trips may end (the operating areas)', tags: ['gbfs'] } }, async (request, reply) => {
    void reply.header('cache-control', 'public, max-age=60');
    const zones = await trip.GetZones({}, request.ctx);
    return gbfsGeofencingZones(zones.features, Date.now());
  });
  registerPublicRoute(app, tripRoutes.adminList, deps, ({ query, ctx }) => trip.ListTrips(query, ctx));
  registerPublicRoute(app, tripRoutes.adminTimeline, deps, ({ params, ctx }) => trip.GetTripTimeline({ tripId: params.id }, ctx));
}
