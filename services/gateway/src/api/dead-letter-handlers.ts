import { adminDeadLetterRoutes, type DeadLetterService, type deadLetterRpcMethods } from '@carshare/contracts';
import { NotFound, isAppError, type CallContext, type HttpServer, type RpcClient } from '@carshare/platform';
import { registerPublicRoute, type PublicRouteDeps } from './public-route.ts';

export type DeadLetterClients = Record<DeadLetterService, RpcClient<typeof deadLetterRpcMethods>>;

/**
 * Dead-letter ids are UUIDv7, unique across services, so a single id finds its service by
 * asking each in turn; only "not found" moves on, any other failure is the answer.
 */
async function locate(clients: DeadLetterClients, id: string, ctx: CallContext): Promise<DeadLetterService> {
  for (const [service, client] of Object.entries(clients) as [DeadLetterService, DeadLetterClients[DeadLetterService]][]) {
    try {
      await client.GetDeadLetter({ id }, ctx);
      return service;
    } catch (error) {
      if (!(isAppError(error) && error.reason === 'DEAD_LETTER_NOT_FOUND')) throw error;
    }
  }
  throw NotFound('DEAD_LETTER_NOT_FOUND', `no dead letter ${id}`, { id });
}

export function registerDeadLetterRoutes(app: HttpServer, deps: PublicRouteDeps, clients: DeadLetterClients): void {
  registerPublicRoute(app, adminDeadLetterRoutes.list, deps, async ({ query, ctx }) => {
    const { service, ...filter } = query;
    return { ...(await clients[service].ListDeadLetters(filter, ctx)), service };
  });
  registerPublicRoute(app, adminDeadLetterRoutes.get, deps, async ({ params, ctx }) => {
    const service = await locate(clients, params.id, ctx);
    return { ...(await clients[service].GetDeadLetter(params, ctx)), service };
  });
  registerPublicRoute(app, adminDeadLetterRoutes.replay, deps, async ({ params, ctx }) => {
    const service = await locate(clients, params.id, ctx);
    return { ...(await clients[service].ReplayDeadLetter(params, ctx)), service };
  });
  registerPublicRoute(app, adminDeadLetterRoutes.delete, deps, async ({ params, ctx }) => {
    const service = await locate(clients, params.id, ctx);
    await clients[service].DeleteDeadLetter(params, ctx);
    return null;
  });
}
