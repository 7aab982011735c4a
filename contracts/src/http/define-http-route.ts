import type { Static, TSchema } from 'typebox';
import { hardenRequestSchema, rememberHttpRoute, type RouteCredential } from './openapi.ts';

export * from './openapi.ts';

export type Access = 'public' | 'user' | 'operator' | 'admin';

/**
 * Whether a mutating route takes an `Idempotency-Key` header (IETF draft-ietf-httpapi-idempotency-key-header):
 * `required` where a repeated call must never act twice (starting or finishing a trip), `optional`
 * elsewhere. A retried request with the same key gets the first answer again instead of a second effect.
 */
export type IdempotencyKeyUse = 'required' | 'optional';

/** The request header that carries the key, and the response header that marks a replayed answer. */
export const idempotencyHeaders = { key: 'idempotency-key', replayed: 'idempotency-replayed' } as const;

export interface HttpRouteContract {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly url: string;
  readonly summary: string;
  readonly tags: readonly string[];
  readonly access: Access;
  /**
   * A public route that still takes a credential other than a user's token (a car's device
   * secret, a Traccar forwarder's token): named so the document says which.
   */
  readonly credential?: RouteCredential;
  /** Rate-limit rule name the gateway applies to this route (`default` when absent). */
  readonly rateLimit?: string;
  /** Mutating methods only; `optional` when absent. A GET has no effect to repeat, so no key. */
  readonly idempotencyKey?: IdempotencyKeyUse;
  readonly body?: TSchema;
  readonly querystring?: TSchema;
  readonly params?: TSchema;
  readonly successStatus: 200 | 201 | 202 | 204;
  readonly response: TSchema;
}

/**
 * A route contract as the gateway enforces it: request schemas get the bounds they lack (see
 * hardenRequestSchema), so every route, however it is written, refuses over-long input with a 400
 * and documents the limit it keeps. The contract is also remembered for the OpenAPI document.
 */
export function defineHttpRoute<const Route extends HttpRouteContract>(route: Route): Route {
  if (route.method === 'GET' && route.idempotencyKey !== undefined) {
    throw new TypeError(`${route.method} ${route.url}: a GET changes nothing, so it takes no Idempotency-Key`);
  }
  const hardened: Route = {
    ...route,
    ...(route.body && { body: hardenRequestSchema(route.body, 'body') }),
    ...(route.querystring && { querystring: hardenRequestSchema(route.querystring, 'querystring') }),
    ...(route.params && { params: hardenRequestSchema(route.params, 'params') }),
  };
  rememberHttpRoute(hardened);
  return hardened;
}

export { idempotencyKeyOf } from './idempotency-key.ts';

export type RouteBody<Route extends HttpRouteContract> = Route['body'] extends TSchema ? Static<Route['body']> : undefined;
export type RouteQuery<Route extends HttpRouteContract> = Route['querystring'] extends TSchema ? Static<Route['querystring']> : undefined;
export type RouteParams<Route extends HttpRouteContract> = Route['params'] extends TSchema ? Static<Route['params']> : undefined;
export type RouteResponse<Route extends HttpRouteContract> = Static<Route['response']>;
