import type { Static, TSchema } from 'typebox';

export type Access = 'public' | 'user' | 'operator' | 'admin';

export interface HttpRouteContract {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly url: string;
  readonly summary: string;
  readonly tags: readonly string[];
  readonly access: Access;
  /** Rate-limit rule name the gateway applies to this route (`default` when absent). */
  readonly rateLimit?: string;
  readonly body?: TSchema;
  readonly querystring?: TSchema;
  readonly params?: TSchema;
  readonly successStatus: 200 | 201 | 202 | 204;
  readonly response: TSchema;
}

export function defineHttpRoute<const Route extends HttpRouteContract>(route: Route): Route {
  return route;
}

export type RouteBody<Route extends HttpRouteContract> = Route['body'] extends TSchema ? Static<Route['body']> : undefined;
export type RouteQuery<Route extends HttpRouteContract> = Route['querystring'] extends TSchema ? Static<Route['querystring']> : undefined;
export type RouteParams<Route extends HttpRouteContract> = Route['params'] extends TSchema ? Static<Route['params']> : undefined;
export type RouteResponse<Route extends HttpRouteContract> = Static<Route['response']>;
