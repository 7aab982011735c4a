import type { analyticsRpc } from '@carshare/contracts';
import type { HttpServer, RpcClient } from '@carshare/platform';
import type { PublicRouteDeps } from './public-route.ts';

/** The operator's business figures (issue 16): each route maps to one analytics RPC. */
export function registerAnalyticsRoutes(_app: HttpServer, _deps: PublicRouteDeps, _analytics: RpcClient<typeof analyticsRpc.methods>): void {
  // Routes arrive with the analytics read model; until then the console says the API is not available.
}
