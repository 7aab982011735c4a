import { adminFaultRoutes, adminUserRoutes, authRoutes, meRoutes, type User, type userRpc } from '@carshare/contracts';
import type { Clock, HttpServer, RpcClient } from '@carshare/platform';
import type { FaultRegistry, FaultSwitch } from '@carshare/resilience';
import type { Static } from 'typebox';
import { gatherParts } from './gather-parts.ts';
import type { LastGoodCache } from './last-good-cache.ts';
import { registerPublicRoute, type PublicRouteDeps } from './public-route.ts';

export interface GatewayDownstreams {
  user: RpcClient<typeof userRpc.methods>;
}

export interface GatewayState {
  faults: FaultRegistry;
  lastGoodUsers: LastGoodCache<Static<typeof User>>;
  /** Budget of each part of a gathered answer such as /v1/me. */
  partBudgetMs: number;
  /** The clock request deadlines are set on, so part budgets are measured on it too. */
  clock: Clock;
}

function isoOrNull(epochMs: number | undefined): string | null {
  return epochMs === undefined ? null : new Date(epochMs).toISOString();
}

function toWireSwitch(fault: FaultSwitch) {
  return { ...fault, updatedAt: isoOrNull(fault.updatedAt), updatedBy: fault.updatedBy ?? null };
}

/** REST → RPC: each route is one call (or one gather) and nothing else. */
export function registerPublicRoutes(app: HttpServer, deps: PublicRouteDeps, downstreams: GatewayDownstreams, state: GatewayState): void {
  const { user } = downstreams;

  registerPublicRoute(app, authRoutes.register, deps, ({ body, ctx }) => user.Register(body, ctx));
  registerPublicRoute(app, authRoutes.login, deps, ({ body, ctx }) => user.Login(body, ctx));
  registerPublicRoute(app, authRoutes.refresh, deps, ({ body, ctx }) => user.Refresh(body, ctx));
  registerPublicRoute(app, authRoutes.logout, deps, async ({ body, ctx }) => {
    await user.Logout(body, ctx);
    return null;
  });

  registerPublicRoute(app, meRoutes.me, deps, async ({ ctx }) => {
    const userId = ctx.caller?.userId as string;
    const { parts, partial, stale } = await gatherParts(
      {
        user: {
          load: (partCtx) => user.GetUser({ userId }, partCtx),
          budgetMs: state.partBudgetMs,
          fallback: { cache: state.lastGoodUsers, key: userId },
        },
      },
      ctx,
      state.clock,
    );
    return { user: parts.user, partial, stale };
  });

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

  registerPublicRoute(app, adminFaultRoutes.list, deps, async () => ({
    items: state.faults.list().map(toWireSwitch),
    recentChanges: state.faults.auditLog().map((change) => ({ ...change, at: new Date(change.at).toISOString() })),
  }));
  registerPublicRoute(app, adminFaultRoutes.set, deps, async ({ params, body, ctx }) =>
    toWireSwitch(state.faults.set(params.name, body, ctx.caller?.userId ?? 'unknown')),
  );
}
