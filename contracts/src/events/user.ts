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

export const userEvents = [UserRegistered, UserSuspended, UserReactivated] as const;
