import { adminDeadLetterRoutes } from '@carshare/contracts';
import type { HttpServer } from '@carshare/platform';
import { Type } from 'typebox';
import type { GatewayService } from '../gateway-service.ts';
import { registerPublicRoute, type PublicRouteDeps } from './public-route.ts';

/** The list route with `service` narrowed to the services that keep dead letters, defaulting to the first. */
function listRouteFor(services: readonly string[]): typeof adminDeadLetterRoutes.list {
  const route = adminDeadLetterRoutes.list;
  const service = Type.Union(services.map((name) => Type.Literal(name)), { default: services[0] });
  const querystring = Type.Object({ ...route.querystring.properties, service }, { additionalProperties: false });
  return { ...route, querystring } as unknown as typeof adminDeadLetterRoutes.list;
}

export function registerDeadLetterRoutes(app: HttpServer, deps: PublicRouteDeps, services: readonly string[], gateway: GatewayService): void {
  if (services.length === 0) return;
  registerPublicRoute(app, listRouteFor(services), deps, async ({ query, ctx }) => {
    const { service, ...filter } = query;
    return { ...(await gateway.deadLetterClient(service).ListDeadLetters(filter, ctx)), service };
  });
  registerPublicRoute(app, adminDeadLetterRoutes.get, deps, async ({ params, ctx }) => {
    const { service, client } = await gateway.locateDeadLetter(params.id, ctx);
    return { ...(await client.GetDeadLetter(params, ctx)), service };
  });
  registerPublicRoute(app, adminDeadLetterRoutes.replay, deps, async ({ params, ctx }) => {
    const { service, client } = await gateway.locateDeadLetter(params.id, ctx);
    return { ...(await client.ReplayDeadLetter(params, ctx)), service };
  });
  registerPublicRoute(app, adminDeadLetterRoutes.delete, deps, async ({ params, ctx }) => {
    const { client } = await gateway.locateDeadLetter(params.id, ctx);
    await client.DeleteDeadLetter(params, ctx);
    return null;
  });
}
