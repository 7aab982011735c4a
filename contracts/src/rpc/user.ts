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
/**
 * Long passphrases are welcome; the bound keeps argon2 work per request finite. Length is all a
 * schema can say: the rest of the policy (NIST SP 800-63B: not a common or breached password, not
 * the email or the name, not one repeated character) is the user service's, answered as
 * `WEAK_PASSWORD` with the broken rule in `details.rule`.
 */
export const Password = Type.String({ minLength: 10, maxLength: 128 });
/** A single-use token from a verification or password-reset mail (base64url, 32 random bytes). */
export const MailToken = Type.String({ minLength: 16, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' });
/**
 * The device token a successful login hands out (OWASP's "device cookie"): a client that sends it
 * back is throttled apart from anonymous attempts at the same account, so strangers guessing at an
 * account slow each other down, not the owner.
 */
export const DeviceToken = Type.String({ minLength: 16, maxLength: 128, pattern: '^[A-Za-z0-9_.-]+$' });
/**
 * Who is calling on behalf of an end user, as the gateway saw them: the client's address (for
 * per-IP throttling inside the user service) and the device token the client sent back.
 */
export const ClientInfo = Type.Object(
  {
    ip: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    deviceToken: Type.Optional(DeviceToken),
  },
  { additionalProperties: false },
);
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
  /** The owner proved the address by following the verification mail; unverified riders may not reserve. */
  emailVerified: Type.Boolean(),
});

export const TokenPair = Type.Object({
  tokenType: Type.Literal('Bearer'),
  accessToken: Type.String(),
  /** Seconds until the access token expires. */
  expiresIn: Type.Integer(),
  refreshToken: Type.String(),
});

export const Session = Type.Object({ user: User, tokens: TokenPair });
/** A login's session plus the device token to send back on this device's next logins. */
export const LoginSession = Type.Object({ user: User, tokens: TokenPair, deviceToken: DeviceToken });

/**
 * What registration answers, the same whether the address was free or taken (so the answer does
 * not tell who has an account): the mail says the rest.
 */
export const RegistrationAccepted = Type.Object({
  status: Type.Literal('verification_sent'),
  message: Type.String(),
});

/** What a password-reset request answers, whether or not the address has an account. */
export const PasswordResetRequested = Type.Object({ status: Type.Literal('reset_mail_sent_if_registered'), message: Type.String() });

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
    summary: 'Create an unverified rider account and mail a verification link (a taken address gets a warning mail instead)',
    input: Type.Object({ email: Email, password: Password, displayName: DisplayName, client: Type.Optional(ClientInfo) }, strict),
    output: RegistrationAccepted,
    idempotent: false,
    errors: ['WEAK_PASSWORD', 'REGISTRATION_THROTTLED', 'ATTEMPT_COUNT_CONTENDED'],
  },
  Login: {
    summary: 'Check credentials and open a session; throttled per account, device, client IP and globally',
    input: Type.Object({ email: Type.String({ maxLength: 254 }), password: Type.String({ maxLength: 128 }), client: Type.Optional(ClientInfo) }, strict),
    output: LoginSession,
    idempotent: false,
    errors: ['INVALID_CREDENTIALS', 'USER_SUSPENDED', 'LOGIN_THROTTLED', 'ATTEMPT_COUNT_CONTENDED'],
  },
  VerifyEmail: {
    summary: 'Confirm an address with the single-use token from the verification mail',
    input: Type.Object({ token: MailToken }, strict),
    output: User,
    idempotent: false,
    errors: ['INVALID_MAIL_TOKEN'],
  },
  RequestPasswordReset: {
    summary: 'Mail a single-use reset link if the address has an account; answers the same either way',
    input: Type.Object({ email: Email, client: Type.Optional(ClientInfo) }, strict),
    output: PasswordResetRequested,
    idempotent: false,
    errors: ['RESET_THROTTLED', 'ATTEMPT_COUNT_CONTENDED'],
  },
  ConfirmPasswordReset: {
    summary: 'Set a new password with a reset token; every session of the account ends',
    input: Type.Object({ token: MailToken, newPassword: Password }, strict),
    output: Type.Object({}),
    idempotent: false,
    errors: ['INVALID_MAIL_TOKEN', 'WEAK_PASSWORD'],
  },
  ChangePassword: {
    summary: 'The signed-in user changes their password (the current one is asked again); every session of the account ends',
    input: Type.Object({ currentPassword: Type.String({ minLength: 1, maxLength: 128 }), newPassword: Password }, strict),
    output: Type.Object({}),
    idempotent: false,
    errors: ['INVALID_CREDENTIALS', 'WEAK_PASSWORD', 'AUTHENTICATION_REQUIRED'],
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
    // The trip service reads the rider's own account for the address rule (unverified riders may not reserve).
    callers: ['gateway', 'trip'],
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
  ConfirmUserEmail: {
    summary:
      "Operators confirm a user's address for them when its owner proved it another way (support, or the simulator's back office for riders whose inbox nobody reads); published as user.email_verified like a followed link",
    input: Type.Object({ userId: UserId }, strict),
    output: User,
    idempotent: true,
    errors: ['OPERATOR_ONLY', 'ADMIN_ONLY', 'USER_NOT_FOUND'],
  },
  ...deadLetterRpcMethods,
});
