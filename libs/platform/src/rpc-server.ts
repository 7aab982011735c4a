import type { RpcMethods, RpcServiceContract } from '@carshare/contracts';
import type { HttpServer } from './http-server.ts';
import { RpcServiceEndpoint, type RpcHandlers, type RpcServerOptions } from './rpc-endpoint.ts';
import { serveFramedRpc } from './rpc-framed-server.ts';
import { serviceIdentityHeader } from './rpc-service-identity.ts';

export { RpcMethodEndpoint, RpcServiceEndpoint, type RpcHandler, type RpcHandlers, type RpcServerOptions } from './rpc-endpoint.ts';
export { rpcPath } from './rpc-path.ts';

/**
 * Mounts every method of a contract as `POST /rpc/<service>/<Method>` and returns the compiled
 * endpoint, which an in-process transport can call directly. The route adds only what HTTP has:
 * the body parsed by the server's JSON parser and guard, the calling service's signed identity
 * read from its header (ADR 0012; an `Authorization` header is not read: end-user tokens stop at
 * the gateway), and the answer written as the JSON text the endpoint serialised; the deadline, span and RED
 * metric per route come from createHttpServer's plugins, errors from its error handler. The same
 * endpoint also answers on the framed wire of the server's port (ADR 0029, rpc-framed-server.ts),
 * which callers in other processes use unless told to use HTTP.
 */
export function registerRpcService<Methods extends RpcMethods>(
  app: HttpServer,
  contract: RpcServiceContract<Methods>,
  handlers: RpcHandlers<Methods>,
  options: RpcServerOptions,
): RpcServiceEndpoint<Methods> {
  const endpoint = new RpcServiceEndpoint(contract, handlers, options);
  serveFramedRpc(app, endpoint);
  for (const method of endpoint.methods()) {
    app.post(method.path, async (request, reply) => {
      const identity = request.headers[serviceIdentityHeader];
      const json = await method.invoke(request.body, typeof identity === 'string' ? identity : undefined, request.ctx);
      // The deadline already answered 504: whatever the handler made is nobody's answer.
      if (reply.sent) return reply;
      return reply.type('application/json; charset=utf-8').send(json);
    });
  }
  return endpoint;
}
