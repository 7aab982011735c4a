import type { HttpRouteContract, IdempotencyKeyUse } from './define-http-route.ts';

// Apart from define-http-route.ts, which hardens schemas with TypeBox at run time: the browser build
// of the contracts (browser.ts) needs this function and none of TypeBox.

/** How a route treats `Idempotency-Key`: undefined for reads, else what its contract says (default `optional`). */
export function idempotencyKeyOf(route: Pick<HttpRouteContract, 'method' | 'idempotencyKey'>): IdempotencyKeyUse | undefined {
  return route.method === 'GET' ? undefined : (route.idempotencyKey ?? 'optional');
}
