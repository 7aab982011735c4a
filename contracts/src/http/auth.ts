import { Type } from 'typebox';
import { DeviceToken, DisplayName, Email, LoginSession, MailToken, Password, PasswordResetRequested, RegistrationAccepted, Session, TokenPair, User } from '../rpc/user.ts';
import { defineHttpRoute } from './define-http-route.ts';

const strict = { additionalProperties: false } as const;
const RefreshBody = Type.Object({ refreshToken: Type.String({ minLength: 1, maxLength: 256 }) }, strict);

export const authRoutes = {
  register: defineHttpRoute({
    method: 'POST',
    url: '/v1/auth/register',
    summary: 'Sign up as a rider: a verification mail follows (the same answer for a taken address, whose owner is told by mail)',
    tags: ['auth'],
    access: 'public',
    rateLimit: 'register',
    body: Type.Object({ email: Email, password: Password, displayName: DisplayName }, strict),
    successStatus: 202,
    response: RegistrationAccepted,
  }),
  login: defineHttpRoute({
    method: 'POST',
    url: '/v1/auth/login',
    summary: 'Log in with email and password; send back the device token of an earlier login on this device',
    tags: ['auth'],
    access: 'public',
    rateLimit: 'login',
    body: Type.Object(
      {
        email: Type.String({ minLength: 1, maxLength: 254 }),
        password: Type.String({ minLength: 1, maxLength: 128 }),
        deviceToken: Type.Optional(DeviceToken),
      },
      strict,
    ),
    successStatus: 200,
    response: LoginSession,
  }),
  refresh: defineHttpRoute({
    method: 'POST',
    url: '/v1/auth/refresh',
    summary: 'Trade a refresh token for a new pair (the old one stops working)',
    tags: ['auth'],
    access: 'public',
    rateLimit: 'refresh',
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
  verifyEmail: defineHttpRoute({
    method: 'POST',
    url: '/v1/auth/verify-email',
    summary: 'Confirm the address with the token from the verification mail (single use, expires)',
    tags: ['auth'],
    access: 'public',
    rateLimit: 'register',
    body: Type.Object({ token: MailToken }, strict),
    successStatus: 200,
    response: User,
  }),
  requestPasswordReset: defineHttpRoute({
    method: 'POST',
    url: '/v1/auth/password-reset',
    summary: 'Mail a password-reset link to the address if it has an account (the same answer either way)',
    tags: ['auth'],
    access: 'public',
    rateLimit: 'register',
    body: Type.Object({ email: Email }, strict),
    successStatus: 202,
    response: PasswordResetRequested,
  }),
  confirmPasswordReset: defineHttpRoute({
    method: 'POST',
    url: '/v1/auth/password-reset/confirm',
    summary: 'Set a new password with the token from the reset mail; every session of the account ends',
    tags: ['auth'],
    access: 'public',
    rateLimit: 'register',
    body: Type.Object({ token: MailToken, newPassword: Password }, strict),
    successStatus: 204,
    response: Type.Null(),
  }),
  changePassword: defineHttpRoute({
    method: 'POST',
    url: '/v1/auth/password',
    summary: 'Change your password (the current one is asked again); every session ends, log in again',
    tags: ['auth'],
    access: 'user',
    rateLimit: 'login',
    body: Type.Object({ currentPassword: Type.String({ minLength: 1, maxLength: 128 }), newPassword: Password }, strict),
    successStatus: 204,
    response: Type.Null(),
  }),
} as const;

export { TokenPair };
