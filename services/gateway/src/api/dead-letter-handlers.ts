import { adminDeadLetterRoutes, type deadLetterRpcMethods } from '@carshare/contracts';
import { NotFound, isAppError, type CallContext, type HttpServer, type RpcClient } from '@carshare/platform';
import { Type } from 'typebox';
import { registerPublicRoute, type PublicRouteDeps } from './public-route.ts';

/** By service name: every registered service whose contract includes the dead-letter methods. */
export type DeadLetterClients = ReadonlyMap<string, RpcClient<typeof deadLetterRpcMethods>>;

/**
 * Dead-letter ids are UUIDv7, unique across services, so a single id finds its service by
 * asking each in turn; only "not found" moves on, any other failure is the answer.
 */
async function locate(clients: DeadLetterClients, id: string, ctx: CallContext): Promise<[string, RpcClient<typeof deadLetterRpcMethods>]> {
  for (const entry of clients) {
    try {
      await entry[1].GetDeadLetter({ id }, ctx);
      return entry;
    } catch (error) {
      if (!(isAppError(error) && error.reason === 'DEAD_LETTER_NOT_FOUND')) throw error;
    }
  }
  throw NotFound('DEAD_LETTER_NOT_FOUND', `no dead letter ${id}`, { id });
}

/** The list route with `service` narrowed to the registered names, defaulting to the first. */
function listRouteFor(services: readonly string[]): typeof adminDeadLetterRoutes.list {
  const route = adminDeadLetterRoutes.list;
  const service = Type.Union(services.map((name) => Type.Literal(name)), { default: services[0] });
  const querystring = Type.Object({ ...route.querystring.properties, service }, { additionalProperties: false });
  return { ...route, querystring } as unknown as typeof adminDeadLetterRoutes.list;
}

export function registerDeadLetterRoutes(app: HttpServer, deps: PublicRouteDeps, clients: DeadLetterClients): void {
  if (clients.size === 0) return;
  registerPublicRoute(app, listRouteFor([...clients.keys()]), deps, async ({ query, ctx }) => {
    const { service, ...filter } = query;
    const client = clients.get(service) as RpcClient<typeof deadLetterRpcMethods>;
    return { ...(await client.ListDeadLetters(filter, ctx)), service };
  });
  registerPublicRoute(app, adminDeadLetterRoutes.get, deps, async ({ params, ctx }) => {
    const [service, client] = await locate(clients, params.id, ctx);
    return { ...(await client.GetDeadLetter(params, ctx)), service };
  });
  registerPublicRoute(app, adminDeadLetterRoutes.replay, deps, async ({ params, ctx }) => {
    const [service, client] = await locate(clients, params.id, ctx);
    return { ...(await client.ReplayDeadLetter(params, ctx)), service };
  });
  registerPublicRoute(app, adminDeadLetterRoutes.delete, deps, async ({ params, ctx }) => {
    const [, client] = await locate(clients, params.id, ctx);
    await client.DeleteDeadLetter(params, ctx);
    return null;
  });
}
