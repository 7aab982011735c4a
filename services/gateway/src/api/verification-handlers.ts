import type { profileRpc } from '@carshare/contracts';
import type { HttpServer, RpcClient } from '@carshare/platform';
import type { PublicRouteDeps } from './public-route.ts';

/** REST → RPC for the profile service's public and admin routes: each route is one call. */
export function registerVerificationRoutes(_app: HttpServer, _deps: PublicRouteDeps, _profile: RpcClient<typeof profileRpc.methods>): void {
  // Routes land here as the profile service grows (see its README).
}
