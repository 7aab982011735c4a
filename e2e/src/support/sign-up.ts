import assert from 'node:assert/strict';
import type { ApiClient, CallOptions } from './api-client.ts';

export interface SignUp {
  email: string;
  password: string;
  displayName: string;
}

/** What login answers (LoginSession in contracts/src/rpc/user.ts), as the tests read it. */
export interface LoggedIn {
  user: {
    id: string;
    email: string;
    displayName: string;
    role: 'rider' | 'operator' | 'admin';
    plan: string;
    status: 'active' | 'suspended';
    emailVerified: boolean;
    createdAt: string;
    suspendedReason?: string;
  };
  tokens: { tokenType: 'Bearer'; accessToken: string; expiresIn: number; refreshToken: string };
  deviceToken: string;
}

/**
 * Registration answers 202 `verification_sent` and opens no session (ADR 0017: the same answer for
 * a free and a taken address); the session comes from logging in afterwards. Asserts both steps, so
 * a test that signs someone up still fails when registration or login breaks.
 */
export async function signUpAndLogIn(api: ApiClient, account: SignUp, options: Pick<CallOptions, 'headers'> = {}): Promise<LoggedIn> {
  const registered = await api.call('POST', '/v1/auth/register', { body: account, headers: options.headers });
  assert.equal(registered.status, 202, registered.text);
  assert.equal((registered.body as { status?: unknown }).status, 'verification_sent', registered.text);
  const loggedIn = await api.call<LoggedIn>('POST', '/v1/auth/login', { body: { email: account.email, password: account.password }, headers: options.headers });
  assert.equal(loggedIn.status, 200, loggedIn.text);
  return loggedIn.body;
}
