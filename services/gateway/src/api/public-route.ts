import {
  ErrorResponse,
  isStaff,
  type HttpRouteContract,
  type RouteBody,
  type RouteParams,
  type RouteQuery,
  type RouteResponse,
} from '@carshare/contracts';
import { PermissionDenied, Unauthenticated, bearerToken, type AccessTokenVerifier, type CallContext, type HttpServer } from '@carshare/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RateLimitGuard } from './rate-limit-guard.ts';

export interface PublicRouteDeps {
  verifier: AccessTokenVerifier;
  rateLimits: RateLimitGuard;
}

export interface RouteInput<Route extends HttpRouteContract> {
  body: RouteBody<Route>;
  query: RouteQuery<Route>;
  params: RouteParams<Route>;
  ctx: CallContext;
}

export type RouteHandler<Route extends HttpRouteContract> = (input: RouteInput<Route>) => Promise<RouteResponse<Route>>;

/**
 * Mounts one public route from its contract: schemas for validation, serialisation and
 * OpenAPI; access checked before the handler; the handler maps to one RPC call.
 */
export function registerPublicRoute<Route extends HttpRouteContract>(
  app: HttpServer,
  route: Route,
  deps: PublicRouteDeps,
  handler: RouteHandler<Route>,
): void {
  const { verifier, rateLimits } = deps;
  const errorStatuses = route.access === 'public' ? [400, 401, 403, 409, 429, 503] : [400, 401, 403, 404, 409, 429, 503];
  const response: Record<number, unknown> = { [route.successStatus]: route.response };
  for (const status of errorStatuses) response[status] = ErrorResponse;

  app.route({
    method: route.method,
    url: route.url,
    schema: {
      summary: route.summary,
      tags: [...route.tags],
      ...(route.body && { body: route.body }),
      ...(route.querystring && { querystring: route.querystring }),
      ...(route.params && { params: route.params }),
      ...(route.access !== 'public' && { security: [{ bearerAuth: [] }] }),
      response,
    },
    // Who may call comes before what they sent: a rider probing an admin route learns nothing.
    onRequest: async (request: FastifyRequest, reply: FastifyReply) => {
      const anonymous = { ip: request.ip, user: undefined };
      if (route.access === 'public') {
        await rateLimits.beforeBody(reply, route.rateLimit, anonymous);
        return;
      }
      const token = bearerToken(request.headers.authorization);
      if (!token) {
        // Unauthenticated traffic is held to the per-IP limit too, so probing costs the prober.
        await rateLimits.beforeBody(reply, undefined, anonymous);
        void reply.header('www-authenticate', 'Bearer');
        throw Unauthenticated('AUTHENTICATION_REQUIRED', 'send an access token: Authorization: Bearer <token>');
      }
      let caller;
      try {
        caller = await verifier.verify(token);
      } catch (error) {
        await rateLimits.beforeBody(reply, undefined, anonymous);
        throw error;
      }
      request.ctx.caller = caller;
      if (route.access === 'operator' && !isStaff(caller.role)) {
        throw PermissionDenied('OPERATOR_ONLY', 'this route is for operators');
      }
      if (route.access === 'admin' && caller.role !== 'admin') {
        throw PermissionDenied('ADMIN_ONLY', 'this route is for admins');
      }
      await rateLimits.beforeBody(reply, route.rateLimit, { ip: request.ip, user: { id: caller.userId, plan: caller.plan } });
    },
    preHandler: async (request: FastifyRequest, reply: FastifyReply) => {
      const account = (request.body as { email?: unknown } | undefined)?.email;
      await rateLimits.forAccount(reply, route.rateLimit, typeof account === 'string' ? account : undefined);
    },
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      const result = await handler({
        body: request.body as RouteBody<Route>,
        query: request.query as RouteQuery<Route>,
        params: request.params as RouteParams<Route>,
        ctx: request.ctx,
      });
      if (reply.sent) return reply;
      void reply.code(route.successStatus);
      return route.successStatus === 204 ? reply.send() : result;
    },
  });
}
