import { adminUserRoutes, authRoutes, meRoutes, type userRpc } from '@carshare/contracts';
import type { AccessTokenVerifier, HttpServer, RpcClient } from '@carshare/platform';
import { gatherParts } from './gather-parts.ts';
import { registerPublicRoute } from './public-route.ts';

export interface GatewayDownstreams {
  user: RpcClient<typeof userRpc.methods>;
}

/** REST → RPC: each route is one call (or one gather) and nothing else. */
export function registerPublicRoutes(app: HttpServer, verifier: AccessTokenVerifier, downstreams: GatewayDownstreams): void {
  const { user } = downstreams;

  registerPublicRoute(app, authRoutes.register, verifier, ({ body, ctx }) => user.Register(body, ctx));
  registerPublicRoute(app, authRoutes.login, verifier, ({ body, ctx }) => user.Login(body, ctx));
  registerPublicRoute(app, authRoutes.refresh, verifier, ({ body, ctx }) => user.Refresh(body, ctx));
  registerPublicRoute(app, authRoutes.logout, verifier, async ({ body, ctx }) => {
    await user.Logout(body, ctx);
    return null;
  });

  registerPublicRoute(app, meRoutes.me, verifier, async ({ ctx }) => {
    const userId = ctx.caller?.userId as string;
    const { parts, partial } = await gatherParts({ user: () => user.GetUser({ userId }, ctx) }, ctx.log);
    return { user: parts.user, partial };
  });

  registerPublicRoute(app, adminUserRoutes.list, verifier, ({ query, ctx }) => user.ListUsers(query, ctx));
  registerPublicRoute(app, adminUserRoutes.get, verifier, ({ params, ctx }) => user.GetUser({ userId: params.id }, ctx));
  registerPublicRoute(app, adminUserRoutes.suspend, verifier, ({ params, body, ctx }) =>
    user.SuspendUser({ userId: params.id, reason: body.reason }, ctx),
  );
  registerPublicRoute(app, adminUserRoutes.reactivate, verifier, ({ params, ctx }) => user.ReactivateUser({ userId: params.id }, ctx));
  registerPublicRoute(app, adminUserRoutes.setRole, verifier, ({ params, body, ctx }) =>
    user.SetUserRole({ userId: params.id, role: body.role }, ctx),
  );
  registerPublicRoute(app, adminUserRoutes.setPlan, verifier, ({ params, body, ctx }) =>
    user.SetUserPlan({ userId: params.id, plan: body.plan }, ctx),
  );
}
