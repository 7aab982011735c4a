import type { blobRpc } from '@carshare/contracts';
import type { HttpServer, RpcClient } from '@carshare/platform';
import type { PublicRouteDeps } from './public-route.ts';

/** REST → RPC for the blob service's public and admin routes: each route is one call. */
export function registerBlobsRoutes(_app: HttpServer, _deps: PublicRouteDeps, _blob: RpcClient<typeof blobRpc.methods>): void {
  // Routes land here as the blob service grows (see its README).
}
