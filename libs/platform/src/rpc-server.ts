import type { RpcInput, RpcMethods, RpcOutput, RpcServiceContract } from '@carshare/contracts';
import type { Caller, CallContext } from './call-context.ts';
import { isAppError, Unauthenticated } from './errors.ts';
import { bearerToken, headerNames } from './headers.ts';
import type { HttpServer } from './http-server.ts';
import type { Observability } from '@carshare/observability';

export type RpcHandler<Input, Output> = (input: Input, ctx: CallContext) => Promise<Output>;

export type RpcHandlers<Methods extends RpcMethods> = {
  [Name in keyof Methods]: RpcHandler<RpcInput<Methods[Name]>, RpcOutput<Methods[Name]>>;
};

export interface RpcServerOptions {
  observability: Observability;
  /** Turns the forwarded end-user token into a caller; without it callers stay anonymous. */
  authenticate?: (token: string) => Promise<Caller>;
}

export function rpcPath(service: string, method: string): string {
  return `/rpc/${service}/${method}`;
}

/**
 * Mounts every method of a contract as `POST /rpc/<service>/<Method>`: the contract's input
 * schema validates the body, its output schema serialises the answer.
 */
export function registerRpcService<Methods extends RpcMethods>(
  app: HttpServer,
  contract: RpcServiceContract<Methods>,
  handlers: RpcHandlers<Methods>,
  options: RpcServerOptions,
): void {
  const { metrics } = options.observability;
  for (const [name, method] of Object.entries(contract.methods)) {
    const handler = handlers[name as keyof Methods] as RpcHandler<unknown, unknown>;
    app.post(
      rpcPath(contract.service, name),
      { schema: { body: method.input, response: { 200: method.output } } },
      async (request, reply) => {
        const started = performance.now();
        let code = 'OK';
        try {
          const token = bearerToken(request.headers[headerNames.authorization]);
          if (token !== undefined) {
            if (!options.authenticate) throw Unauthenticated('TOKEN_NOT_ACCEPTED', `${contract.service} does not accept end-user tokens`);
            request.ctx.caller = await options.authenticate(token);
          }
          const output = await handler(request.body, request.ctx);
          return reply.sent ? reply : output;
        } catch (error) {
          code = isAppError(error) ? error.code : 'INTERNAL';
          throw error;
        } finally {
          metrics.rpcServerDuration.observe({ rpc_service: contract.service, rpc_method: name, rpc_response_status_code: code }, (performance.now() - started) / 1000);
        }
      },
    );
  }
}
