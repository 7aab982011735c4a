import { Type } from 'typebox';
import { Plan, Role, User, UserId, UserListQuery, UserPage } from '../rpc/user.ts';
import { defineHttpRoute } from './define-http-route.ts';

const strict = { additionalProperties: false } as const;
const UserParams = Type.Object({ id: UserId }, strict);

export const adminUserRoutes = {
  list: defineHttpRoute({
    method: 'GET',
    url: '/v1/admin/users',
    summary: 'Page through users, newest first; search matches email or name',
    tags: ['admin'],
    access: 'operator',
    querystring: UserListQuery,
    successStatus: 200,
    response: UserPage,
  }),
  get: defineHttpRoute({
    method: 'GET',
    url: '/v1/admin/users/:id',
    summary: 'One user',
    tags: ['admin'],
    access: 'operator',
    params: UserParams,
    successStatus: 200,
    response: User,
  }),
  suspend: defineHttpRoute({
    method: 'POST',
    url: '/v1/admin/users/:id/suspend',
    summary: 'Suspend a user: sessions end and login is refused',
    tags: ['admin'],
    access: 'operator',
    params: UserParams,
    body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, strict),
    successStatus: 200,
    response: User,
  }),
  reactivate: defineHttpRoute({
    method: 'POST',
    url: '/v1/admin/users/:id/reactivate',
    summary: 'Lift a suspension',
    tags: ['admin'],
    access: 'operator',
    params: UserParams,
    successStatus: 200,
    response: User,
  }),
  setRole: defineHttpRoute({
    method: 'PUT',
    url: '/v1/admin/users/:id/role',
    summary: 'Change somebody else\'s role (admins only)',
    tags: ['admin'],
    access: 'admin',
    params: UserParams,
    body: Type.Object({ role: Role }, strict),
    successStatus: 200,
    response: User,
  }),
  confirmEmail: defineHttpRoute({
    method: 'POST',
    url: '/v1/admin/users/:id/confirm-email',
    summary: "Confirm a user's email address for them (its owner proved it another way): they may then reserve",
    tags: ['admin'],
    access: 'operator',
    params: UserParams,
    successStatus: 200,
    response: User,
  }),
  setPlan: defineHttpRoute({
    method: 'PUT',
    url: '/v1/admin/users/:id/plan',
    summary: 'Change a user\'s plan',
    tags: ['admin'],
    access: 'operator',
    params: UserParams,
    body: Type.Object({ plan: Plan }, strict),
    successStatus: 200,
    response: User,
  }),
} as const;
