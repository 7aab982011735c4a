import { adminFaultRoutes, adminUserRoutes, authRoutes, meRoutes, type userRpc } from '@carshare/contracts';
import type { HttpServer, RpcClient } from '@carshare/platform';
import type { FaultSwitch } from '@carshare/resilience';
import type { GatewayService } from '../gateway-service.ts';
import { registerPublicRoute, type PublicRouteDeps } from './public-route.ts';

function isoOrNull(epochMs: number | undefined): string | null {
  return epochMs === undefined ? null : new Date(epochMs).toISOString();
}

function toWireSwitch(fault: FaultSwitch) {
  return { ...fault, updatedAt: isoOrNull(fault.updatedAt), updatedBy: fault.updatedBy ?? null };
}

/** REST → RPC: each route is one call, or one use case of the gateway's own, and nothing else. */
export function registerPublicRoutes(app: HttpServer, deps: PublicRouteDeps, user: RpcClient<typeof userRpc.methods>, gateway: GatewayService): void {
  // The client's address and device token travel as the user service's client info: its own
  // per-IP and per-device throttles (which no path can skip) must see the client, not the gateway.
  registerPublicRoute(app, authRoutes.register, deps, ({ body, ctx, ip }) => user.Register({ ...body, client: { ip } }, ctx));
  registerPublicRoute(app, authRoutes.login, deps, ({ body: { deviceToken, ...credentials }, ctx, ip }) =>
    user.Login({ ...credentials, client: deviceToken === undefined ? { ip } : { ip, deviceToken } }, ctx),
  );
  registerPublicRoute(app, authRoutes.refresh, deps, ({ body, ctx }) => user.Refresh(body, ctx));
  registerPublicRoute(app, authRoutes.logout, deps, async ({ body, ctx }) => {
    await user.Logout(body, ctx);
    return null;
  });
  registerPublicRoute(app, authRoutes.verifyEmail, deps, ({ body, ctx }) => user.VerifyEmail(body, ctx));
  registerPublicRoute(app, authRoutes.requestPasswordReset, deps, ({ body, ctx, ip }) => user.RequestPasswordReset({ ...body, client: { ip } }, ctx));
  registerPublicRoute(app, authRoutes.confirmPasswordReset, deps, async ({ body, ctx }) => {
    await user.ConfirmPasswordReset(body, ctx);
    return null;
  });
  registerPublicRoute(app, authRoutes.changePassword, deps, async ({ body, ctx }) => {
    await user.ChangePassword(body, ctx);
    return null;
  });

  registerPublicRoute(app, meRoutes.me, deps, ({ ctx }) => gateway.me(ctx));

  registerPublicRoute(app, adminUserRoutes.list, deps, ({ query, ctx }) => user.ListUsers(query, ctx));
  registerPublicRoute(app, adminUserRoutes.get, deps, ({ params, ctx }) => user.GetUser({ userId: params.id }, ctx));
  registerPublicRoute(app, adminUserRoutes.suspend, deps, ({ params, body, ctx }) =>
    user.SuspendUser({ userId: params.id, reason: body.reason }, ctx),
  );
  registerPublicRoute(app, adminUserRoutes.reactivate, deps, ({ params, ctx }) => user.ReactivateUser({ userId: params.id }, ctx));
  registerPublicRoute(app, adminUserRoutes.setRole, deps, ({ params, body, ctx }) =>
    user.SetUserRole({ userId: params.id, role: body.role }, ctx),
  );
  registerPublicRoute(app, adminUserRoutes.setPlan, deps, ({ params, body, ctx }) =>
    user.SetUserPlan({ userId: params.id, plan: body.plan }, ctx),
  );

  registerPublicRoute(app, adminFaultRoutes.list, deps, async () => {
    const { switches, changes } = gateway.faultSwitches();
    return { items: switches.map(toWireSwitch), recentChanges: changes.map((change) => ({ ...change, at: new Date(change.at).toISOString() })) };
  });
  registerPublicRoute(app, adminFaultRoutes.set, deps, async ({ params, body, ctx }) => toWireSwitch(await gateway.setFaultSwitch(params.name, body, ctx)));
}
