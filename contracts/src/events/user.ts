import { Type } from 'typebox';
import { Plan, Role, UserId } from '../rpc/user.ts';
import { defineEvent } from './envelope.ts';

// Subjects of user events are the user id.

export const UserRegistered = defineEvent(
  'user.registered',
  1,
  Type.Object({ userId: UserId, email: Type.String({ minLength: 3, maxLength: 254 }), role: Role, plan: Plan }),
);

export const UserSuspended = defineEvent(
  'user.suspended',
  1,
  Type.Object({ userId: UserId, reason: Type.Optional(Type.String({ maxLength: 500 })) }),
);

export const UserReactivated = defineEvent('user.reactivated', 1, Type.Object({ userId: UserId }));

export const UserEmailVerified = defineEvent('user.email_verified', 1, Type.Object({ userId: UserId }));

const Instant = Type.String({ format: 'date-time' });

/**
 * Access tokens that must stop working before they expire: what a gateway's deny list needs.
 * With `sessionId`, only the tokens of that session (the `sid` claim, one per refresh-token
 * family) are dead; without it, every token of the user issued at or before `revokedBefore` (the
 * `iat` claim, seconds) is. Either way nothing is left to deny after `deniedUntil`: no token
 * signed before `revokedBefore` lives past it, so a deny list may forget the entry then.
 */
export const UserSessionsRevoked = defineEvent(
  'user.sessions_revoked',
  1,
  Type.Object({
    userId: UserId,
    /** One session (refresh-token family, the token's `sid`); absent: every session of the user. */
    sessionId: Type.Optional(Type.String({ format: 'uuid' })),
    reason: Type.Union([
      Type.Literal('logout'),
      Type.Literal('refresh_token_reused'),
      Type.Literal('suspended'),
      Type.Literal('password_changed'),
      Type.Literal('password_reset'),
    ]),
    revokedBefore: Instant,
    deniedUntil: Instant,
  }),
);

/**
 * A user's role changed: tokens issued at or before `changedAt` carry the old role claim and
 * should be refused (or re-authorised against `role`) until `deniedUntil`, when the last of them
 * expires.
 */
export const UserRoleChanged = defineEvent(
  'user.role_changed',
  1,
  Type.Object({ userId: UserId, previousRole: Role, role: Role, changedAt: Instant, deniedUntil: Instant }),
);

export const userEvents = [UserRegistered, UserSuspended, UserReactivated, UserEmailVerified, UserSessionsRevoked, UserRoleChanged] as const;
