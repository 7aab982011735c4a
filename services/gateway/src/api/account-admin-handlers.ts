import { adminUserRoutes, type userRpc } from '@carshare/contracts';
import type { HttpServer, RpcClient } from '@carshare/platform';
import { registerPublicRoute, type PublicRouteDeps } from './public-route.ts';

/** Operators' account actions beyond the user list: each route is one user-service call. */
export function registerAccountAdminRoutes(app: HttpServer, deps: PublicRouteDeps, user: RpcClient<typeof userRpc.methods>): void {
  registerPublicRoute(app, adminUserRoutes.confirmEmail, deps, ({ params, ctx }) => user.ConfirmUserEmail({ userId: params.id }, ctx));
}
