import {
  ErrorResponse,
  idempotencyHeaders,
  idempotencyKeyOf,
  isStaff,
  type HttpRouteContract,
  type RouteBody,
  type RouteParams,
  type RouteQuery,
  type RouteResponse,
} from '@carshare/contracts';
import { PermissionDenied, Unauthenticated, bearerToken, type AccessTokenVerifier, type CallContext, type HttpServer } from '@carshare/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { IdempotencyGuard } from './idempotency-guard.ts';
import type { SessionCheck } from './session-check.ts';
import type { RateLimitGuard } from './rate-limit-guard.ts';

export interface PublicRouteDeps {
  verifier: AccessTokenVerifier;
  /**
   * Revoked tokens and, for staff routes, the caller's current role. The gateway module always
   * gives one; focused tests of a route group may leave it out.
   */
  sessions?: SessionCheck;
  rateLimits: RateLimitGuard;
  idempotency: IdempotencyGuard;
}

function idempotencyKeyHeaderSchema(use: 'required' | 'optional') {
  const key = Type.String({
    minLength: 1,
    maxLength: 257,
    description:
      'A unique value per operation (e.g. a UUID), reused only to retry it: the first answer comes back again ' +
      `with \`Idempotency-Replayed: true\` instead of a second effect. Kept per caller (24 h by default). ${use === 'required' ? 'Required here.' : 'Optional.'} ` +
      '400 when malformed or missing where required, 409 while the first request with it still runs, 422 when it was used for a different request.',
  });
  return Type.Object({ [idempotencyHeaders.key]: use === 'required' ? key : Type.Optional(key) });
}

export interface RouteInput<Route extends HttpRouteContract> {
  body: RouteBody<Route>;
  query: RouteQuery<Route>;
  params: RouteParams<Route>;
  ctx: CallContext;
  /** The client's address (X-Forwarded-For when trustProxy is on): services that throttle per IP need the client's, not ours. */
  ip: string;
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
  const { verifier, sessions, rateLimits, idempotency } = deps;
  const keyUse = idempotencyKeyOf(route);
  const errorStatuses = route.access === 'public' ? [400, 401, 403, 409, 429, 503] : [400, 401, 403, 404, 409, 429, 503];
  if (keyUse) errorStatuses.push(422);
  const response: Record<number, unknown> = { [route.successStatus]: route.response };
  for (const status of errorStatuses) response[status] = ErrorResponse;

  // Only a route with a rate-limit rule of its own can have a per-account limit (the rule's
  // `perAccount`, which a config reload may add), and only a route that reads Idempotency-Key can
  // claim or settle one: every other route (most reads, /v1/me among them) goes without the two
  // async hooks, which cost a promise and a hook-runner pass each on every request.
  const needsAccountLimit = route.rateLimit !== undefined;
  const bodyHooks = {
    ...((needsAccountLimit || keyUse) && {
      preHandler: async (request: FastifyRequest, reply: FastifyReply) => {
        if (needsAccountLimit) {
          const account = (request.body as { email?: unknown } | undefined)?.email;
          await rateLimits.forAccount(reply, route.rateLimit, typeof account === 'string' ? account : undefined);
        }
        // Last before the handler: the fingerprint needs the validated body, and a request refused
        // above never holds a key.
        if (keyUse && (await idempotency.claim(request, reply))) return reply;
      },
    }),
    ...(keyUse && {
      onSend: async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
        await idempotency.settle(request, reply, payload);
        return payload;
      },
    }),
  };

  app.route({
    method: route.method,
    url: route.url,
    schema: {
      summary: route.summary,
      tags: [...route.tags],
      ...(route.body && { body: route.body }),
      ...(route.querystring && { querystring: route.querystring }),
      ...(route.params && { params: route.params }),
      ...(keyUse && { headers: idempotencyKeyHeaderSchema(keyUse) }),
      ...(route.access !== 'public' && { security: [{ bearerAuth: [] }] }),
      response,
    },
    // Who may call comes before what they sent: a rider probing an admin route learns nothing.
    onRequest: async (request: FastifyRequest, reply: FastifyReply) => {
      // Answers carry tokens or personal data (and errors name accounts): no cache may keep one.
      void reply.header('cache-control', 'no-store');
      const anonymous = { ip: request.ip, user: undefined };
      if (route.access === 'public') {
        await rateLimits.beforeBody(reply, route.rateLimit, anonymous);
        idempotency.readKey(request, keyUse);
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
      // The claim said yes; the token may since have been revoked, or the role taken away.
      await sessions?.assertAllowed(caller, route.access, request.ctx);
      await rateLimits.beforeBody(reply, route.rateLimit, { ip: request.ip, user: { id: caller.userId, plan: caller.plan } });
      // A key is looked at only for callers who may call and are within their limits.
      idempotency.readKey(request, keyUse);
    },
    ...bodyHooks,
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      const result = await handler({
        body: request.body as RouteBody<Route>,
        query: request.query as RouteQuery<Route>,
        params: request.params as RouteParams<Route>,
        ctx: request.ctx,
        ip: request.ip,
      });
      if (reply.sent) return reply;
      void reply.code(route.successStatus);
      return route.successStatus === 204 ? reply.send() : result;
    },
  });
}
