import type { paymentRpc } from '@carshare/contracts';
import type { HttpServer, RpcClient } from '@carshare/platform';
import type { PublicRouteDeps } from './public-route.ts';

/** REST → RPC for the payment service's public and admin routes: each route is one call. */
export function registerPaymentRoutes(_app: HttpServer, _deps: PublicRouteDeps, _payment: RpcClient<typeof paymentRpc.methods>): void {
  // Routes land here as the payment service grows (see its README).
}
