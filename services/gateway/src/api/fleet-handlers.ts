import { ErrorResponse, adminCarRoutes, carRoutes, deviceRoutes, isStaff, type Car, type carRpc } from '@carshare/contracts';
import { Unauthenticated, type HttpServer, type RpcClient } from '@carshare/platform';
import type { Static } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { defaultGbfsSystem, registerGbfsRoutes, type GbfsSystem } from './gbfs-handlers.ts';
import { registerPublicRoute, type PublicRouteDeps } from './public-route.ts';

type CarClient = RpcClient<typeof carRpc.methods>;

/** A car as riders see it: no VIN, tracker, reservation, version or device times. */
function toPublicCar(car: Static<typeof Car>) {
  return {
    id: car.id,
    plate: car.plate,
    model: car.model,
    category: car.category,
    seats: car.seats,
    fuelType: car.fuelType,
    available: car.state === 'available',
    position: car.position,
    energyPct: car.energyPct,
  };
}

/** `Authorization: Basic base64(carId:secret)` → its parts; a device's credential, never a user's. */
function basicCredential(request: FastifyRequest): { carId: string; secret: string } {
  const header = request.headers.authorization ?? '';
  const match = /^Basic ([A-Za-z0-9+/=]{1,400})$/.exec(header);
  const decoded = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  if (colon <= 0 || colon === decoded.length - 1) {
    throw Unauthenticated('DEVICE_UNAUTHENTICATED', 'send the device credential: Authorization: Basic base64(carId:deviceSecret)');
  }
  return { carId: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

function bearerOf(request: FastifyRequest): string {
  const match = /^Bearer (\S{1,200})$/.exec(request.headers.authorization ?? '');
  if (!match) throw Unauthenticated('DEVICE_UNAUTHENTICATED', 'send the Traccar token: Authorization: Bearer <token>');
  return match[1]!;
}

/**
 * Device routes carry a device's credential rather than a user's access token, so they are
 * mounted here with their contract's schemas instead of through registerPublicRoute (which reads
 * only users' tokens); the car service checks the credential. Per-car rate limits live there too.
 */
function registerDeviceRoutes(app: HttpServer, car: CarClient): void {
  for (const [route, ingest] of [
    [deviceRoutes.telemetry, (request: FastifyRequest) => car.IngestTelemetry({ ...basicCredential(request), report: request.body }, request.ctx)],
    [deviceRoutes.traccar, (request: FastifyRequest) => car.IngestTraccarPosition({ token: bearerOf(request), forwarded: request.body ?? null }, request.ctx)],
  ] as const) {
    app.route({
      method: route.method,
      url: route.url,
      // A device report is small (MAX_DEVICE_PAYLOAD_BYTES is 4 KB); a Traccar forward a little larger.
      bodyLimit: 16 * 1024,
      schema: {
        summary: route.summary,
        tags: [...route.tags],
        body: route.body,
        response: { [route.successStatus]: route.response, 400: ErrorResponse, 401: ErrorResponse, 429: ErrorResponse, 503: ErrorResponse },
      },
      handler: async (request, reply) => {
        const accepted = await ingest(request);
        void reply.code(route.successStatus);
        return accepted;
      },
    });
  }
}

/**
 * REST → RPC for the car service's public and admin routes: each route is one call. `gbfs` is the
 * gateway config's description of the system for the open GBFS feed.
 */
export function registerFleetRoutes(app: HttpServer, deps: PublicRouteDeps, car: CarClient, gbfs: GbfsSystem = defaultGbfsSystem): void {
  registerPublicRoute(app, carRoutes.nearby, deps, ({ query, ctx }) => car.Nearby(query, ctx));
  registerPublicRoute(app, carRoutes.get, deps, async ({ params, ctx }) => {
    const found = toPublicCar(await car.GetCar({ carId: params.id }, ctx));
    // Riders see cars they could take; where a held car stands is the holder's business.
    if (!found.available && !(ctx.caller && isStaff(ctx.caller.role))) {
      return { ...found, position: null };
    }
    return found;
  });

  registerPublicRoute(app, adminCarRoutes.list, deps, ({ query, ctx }) => car.ListCars(query, ctx));
  registerPublicRoute(app, adminCarRoutes.get, deps, ({ params, ctx }) => car.GetCar({ carId: params.id }, ctx));
  registerPublicRoute(app, adminCarRoutes.create, deps, ({ body, ctx }) => car.CreateCar(body, ctx));
  registerPublicRoute(app, adminCarRoutes.update, deps, ({ params, body, ctx }) => car.UpdateCar({ ...body, carId: params.id }, ctx));
  registerPublicRoute(app, adminCarRoutes.maintenance, deps, ({ params, body, ctx }) => car.SetMaintenance({ carId: params.id, on: body.on }, ctx));
  registerPublicRoute(app, adminCarRoutes.rotateSecret, deps, ({ params, ctx }) => car.RotateDeviceSecret({ carId: params.id }, ctx));
  registerPublicRoute(app, adminCarRoutes.delete, deps, async ({ params, ctx }) => {
    await car.DeleteCar({ carId: params.id }, ctx);
    return null;
  });

  registerDeviceRoutes(app, car);
  registerGbfsRoutes(app, car, gbfs);
}
