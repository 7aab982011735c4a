import { Type, type Static } from 'typebox';
import { deadLetterRpcMethods } from './dead-letters.ts';
import { defineRpcService } from './define-rpc-service.ts';

export const Role = Type.Union([Type.Literal('rider'), Type.Literal('operator'), Type.Literal('admin')]);

/**
 * Staff (operators and admins) read and act on other people's accounts; riders only on their
 * own. Defined once, beside the roles, for every service and the gateway to ask the same way.
 */
export function isStaff(role: Static<typeof Role>): boolean {
  return role === 'operator' || role === 'admin';
}
export const Plan = Type.Union([Type.Literal('free'), Type.Literal('basic'), Type.Literal('premium'), Type.Literal('unlimited')]);
export const UserStatus = Type.Union([Type.Literal('active'), Type.Literal('suspended')]);

export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
/** Long passphrases are welcome; the bound keeps argon2 work per request finite. */
export const Password = Type.String({ minLength: 10, maxLength: 128 });
export const DisplayName = Type.String({ minLength: 1, maxLength: 80 });
export const UserId = Type.String({ format: 'uuid' });
export const Cursor = Type.String({ minLength: 1, maxLength: 512 });
export const PageLimit = Type.Integer({ minimum: 1, maximum: 100, default: 20 });

export const User = Type.Object({
  id: UserId,
  email: Type.String(),
  displayName: Type.String(),
  role: Role,
  plan: Plan,
  status: UserStatus,
  createdAt: Type.String({ format: 'date-time' }),
  suspendedReason: Type.Optional(Type.String()),
});

export const TokenPair = Type.Object({
  tokenType: Type.Literal('Bearer'),
  accessToken: Type.String(),
  /** Seconds until the access token expires. */
  expiresIn: Type.Integer(),
  refreshToken: Type.String(),
});

export const Session = Type.Object({ user: User, tokens: TokenPair });

const strict = { additionalProperties: false } as const;

/** Operators' user listing: the same query on the public route and the RPC. */
export const UserListQuery = Type.Object(
  {
    limit: PageLimit,
    cursor: Type.Optional(Cursor),
    search: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    role: Type.Optional(Role),
    status: Type.Optional(UserStatus),
  },
  strict,
);

export const UserPage = Type.Object({ items: Type.Array(User), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const userRpc = defineRpcService('user', {
  Register: {
    summary: 'Create a rider account and open a session',
    input: Type.Object({ email: Email, password: Password, displayName: DisplayName }, strict),
    output: Session,
    idempotent: false,
    errors: ['EMAIL_TAKEN'],
  },
  Login: {
    summary: 'Check credentials and open a session',
    input: Type.Object({ email: Type.String({ maxLength: 254 }), password: Type.String({ maxLength: 128 }) }, strict),
    output: Session,
    idempotent: false,
    errors: ['INVALID_CREDENTIALS', 'USER_SUSPENDED'],
  },
  Refresh: {
    summary: 'Rotate a refresh token; reusing a rotated one revokes its whole family',
    input: Type.Object({ refreshToken: Type.String({ minLength: 1, maxLength: 256 }) }, strict),
    output: Session,
    idempotent: false,
    errors: ['INVALID_REFRESH_TOKEN', 'REFRESH_TOKEN_REUSED', 'USER_SUSPENDED'],
  },
  Logout: {
    summary: 'Revoke the family of a refresh token',
    input: Type.Object({ refreshToken: Type.String({ minLength: 1, maxLength: 256 }) }, strict),
    output: Type.Object({}),
    idempotent: true,
    errors: [],
  },
  GetUser: {
    summary: 'One user: the caller themself, or anyone for an operator',
    input: Type.Object({ userId: UserId }, strict),
    output: User,
    idempotent: true,
    errors: ['USER_NOT_FOUND', 'NOT_YOUR_USER'],
  },
  ListUsers: {
    summary: 'Operators page through users, newest first, with search and filters',
    input: UserListQuery,
    output: UserPage,
    idempotent: true,
    errors: ['OPERATOR_ONLY', 'INVALID_CURSOR'],
  },
  SuspendUser: {
    summary: 'Operators suspend a user: sessions end, login is refused',
    input: Type.Object({ userId: UserId, reason: Type.String({ minLength: 1, maxLength: 500 }) }, strict),
    output: User,
    idempotent: true,
    errors: ['OPERATOR_ONLY', 'USER_NOT_FOUND', 'CANNOT_SUSPEND_SELF'],
  },
  ReactivateUser: {
    summary: 'Operators lift a suspension',
    input: Type.Object({ userId: UserId }, strict),
    output: User,
    idempotent: true,
    errors: ['OPERATOR_ONLY', 'USER_NOT_FOUND'],
  },
  SetUserRole: {
    summary: 'Admins change somebody else\'s role',
    input: Type.Object({ userId: UserId, role: Role }, strict),
    output: User,
    idempotent: true,
    errors: ['ADMIN_ONLY', 'USER_NOT_FOUND', 'CANNOT_CHANGE_OWN_ROLE'],
  },
  SetUserPlan: {
    summary: 'Operators change a user\'s plan',
    input: Type.Object({ userId: UserId, plan: Plan }, strict),
    output: User,
    idempotent: true,
    errors: ['OPERATOR_ONLY', 'USER_NOT_FOUND'],
  },
  ...deadLetterRpcMethods,
});
