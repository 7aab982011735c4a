import type { carRpc } from '@carshare/contracts';
import type { HttpServer, RpcClient } from '@carshare/platform';
import type { PublicRouteDeps } from './public-route.ts';

/** REST → RPC for the car service's public and admin routes: each route is one call. */
export function registerFleetRoutes(_app: HttpServer, _deps: PublicRouteDeps, _car: RpcClient<typeof carRpc.methods>): void {
  // Routes land here as the car service grows (see its README).
}
