import type { userRpc } from '@carshare/contracts';
import type { CallContext, RpcHandlers } from '@carshare/platform';
import type { User } from '../domain/user.ts';
import type { LoginSession, Origin, Session, UserService } from '../user-service.ts';

type WireUser = ReturnType<typeof wireFormOf>;

// The read cache hands out the same frozen User on every hit (GetUser answers each /v1/me): its
// wire form, with the ISO date that costs most of it, is made once per cached row. Only frozen
// users are kept, so a row fresh from the store never lands here, and the key being the cached
// object itself means nothing outlives its entry in the cache.
const wireFormOfFrozen = new WeakMap<User, WireUser>();

function toWireUser(user: User): WireUser {
  if (!Object.isFrozen(user)) return wireFormOf(user);
  let wire = wireFormOfFrozen.get(user);
  if (wire === undefined) {
    wire = Object.freeze(wireFormOf(user));
    wireFormOfFrozen.set(user, wire);
  }
  return wire;
}

function wireFormOf(user: User) {
  return {
    id: user.id,
    email: user.email,
    displayName: user.displayName,
    role: user.role,
    plan: user.plan,
    status: user.status,
    emailVerified: user.emailVerified,
    createdAt: new Date(user.createdAt).toISOString(),
    ...(user.suspendedReason !== undefined && { suspendedReason: user.suspendedReason }),
  };
}

function toWireSession(session: Session) {
  return { user: toWireUser(session.user), tokens: session.tokens };
}

function toWireLoginSession(session: LoginSession) {
  return { ...toWireSession(session), deviceToken: session.deviceToken };
}

type UserMethods = Omit<typeof userRpc.methods, 'ListDeadLetters' | 'GetDeadLetter' | 'ReplayDeadLetter' | 'DeleteDeadLetter'>;

export function userRpcHandlers(users: UserService, originOf: (span: CallContext['span']) => Origin): RpcHandlers<UserMethods> {
  return {
    Register: (input, ctx) => users.register(input, originOf(ctx.span)),
    Login: async (input) => toWireLoginSession(await users.login(input)),
    Refresh: async (input, ctx) => toWireSession(await users.refresh(input, originOf(ctx.span))),
    Logout: (input, ctx) => users.logout(input, originOf(ctx.span)),
    VerifyEmail: async (input, ctx) => toWireUser(await users.verifyEmail(input, originOf(ctx.span))),
    RequestPasswordReset: (input) => users.requestPasswordReset(input),
    ConfirmPasswordReset: (input, ctx) => users.confirmPasswordReset(input, originOf(ctx.span)),
    ChangePassword: (input, ctx) => users.changePassword(input, ctx.caller, originOf(ctx.span)),
    GetUser: async (input, ctx) => toWireUser(await users.getUser(input, ctx.caller)),
    ListUsers: async (input, ctx) => {
      const page = await users.listUsers(input, ctx.caller);
      return { items: page.items.map(toWireUser), nextCursor: page.nextCursor };
    },
    SuspendUser: async (input, ctx) => toWireUser(await users.suspendUser(input, ctx.caller, originOf(ctx.span))),
    ReactivateUser: async (input, ctx) => toWireUser(await users.reactivateUser(input, ctx.caller, originOf(ctx.span))),
    SetUserRole: async (input, ctx) => toWireUser(await users.setUserRole(input, ctx.caller, originOf(ctx.span))),
    SetUserPlan: async (input, ctx) => toWireUser(await users.setUserPlan(input, ctx.caller)),
    ConfirmUserEmail: async (input, ctx) => toWireUser(await users.confirmUserEmail(input, ctx.caller, originOf(ctx.span))),
  };
}
