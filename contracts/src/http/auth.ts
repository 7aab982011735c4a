import { Type } from 'typebox';
import { DisplayName, Email, Password, Session, TokenPair } from '../rpc/user.ts';
import { defineHttpRoute } from './define-http-route.ts';

const strict = { additionalProperties: false } as const;
const RefreshBody = Type.Object({ refreshToken: Type.String({ minLength: 1, maxLength: 256 }) }, strict);

export const authRoutes = {
  register: defineHttpRoute({
    method: 'POST',
    url: '/v1/auth/register',
    summary: 'Sign up as a rider',
    tags: ['auth'],
    access: 'public',
    rateLimit: 'register',
    body: Type.Object({ email: Email, password: Password, displayName: DisplayName }, strict),
    successStatus: 201,
    response: Session,
  }),
  login: defineHttpRoute({
    method: 'POST',
    url: '/v1/auth/login',
    summary: 'Log in with email and password',
    tags: ['auth'],
    access: 'public',
    rateLimit: 'login',
    body: Type.Object({ email: Type.String({ minLength: 1, maxLength: 254 }), password: Type.String({ minLength: 1, maxLength: 128 }) }, strict),
    successStatus: 200,
    response: Session,
  }),
  refresh: defineHttpRoute({
    method: 'POST',
    url: '/v1/auth/refresh',
    summary: 'Trade a refresh token for a new pair (the old one stops working)',
    tags: ['auth'],
    access: 'public',
    rateLimit: 'login',
    body: RefreshBody,
    successStatus: 200,
    response: Session,
  }),
  logout: defineHttpRoute({
    method: 'POST',
    url: '/v1/auth/logout',
    summary: 'End the session the refresh token belongs to',
    tags: ['auth'],
    access: 'public',
    body: RefreshBody,
    successStatus: 204,
    response: Type.Null(),
  }),
} as const;

export { TokenPair };
