import { laptopServiceKeys, serviceIdentityHeader, ServiceIdentitySigner } from '@carshare/platform';
import { demoAccounts } from '@carshare/user-service';
import type { LoadTarget } from '../measure-load.ts';

export interface PlatformInfo {
  gatewayUrl: string;
  userUrl: string;
}

export interface Session {
  accessToken: string;
  riderId: string;
  plan: string;
  /** The `sid` of the access token: the session a service identity names. */
  sessionId: string | undefined;
}

export async function expectOk(response: Response, what: string): Promise<unknown> {
  const text = await response.text();
  if (!response.ok) throw new Error(`${what} answered ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as unknown;
}

/** Logs in as the demo rider through the public API, as the web app would. */
export async function logInRider(gatewayUrl: string): Promise<Session> {
  const response = await fetch(`${gatewayUrl}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: demoAccounts.rider.email, password: demoAccounts.rider.password }),
  });
  const session = (await expectOk(response, 'login')) as { user: { id: string; plan: string }; tokens: { accessToken: string } };
  const claims = JSON.parse(Buffer.from(session.tokens.accessToken.split('.')[1] ?? '', 'base64url').toString()) as { sid?: string };
  return { accessToken: session.tokens.accessToken, riderId: session.user.id, plan: session.user.plan, sessionId: claims.sid };
}

export function meTarget(platform: PlatformInfo, session: Session): LoadTarget {
  return { url: `${platform.gatewayUrl}/v1/me`, headers: { authorization: `Bearer ${session.accessToken}` } };
}

/**
 * GetUser as the gateway calls it: with the gateway's signed identity for the rider (ADR 0012,
 * laptop keys, as the embedded platform uses). The identity lives 60 s: make the target again
 * for each measured run (the benchmarks do).
 */
export function rpcTarget(platform: PlatformInfo, session: Session): LoadTarget {
  const caller = { userId: session.riderId, role: 'rider' as const, plan: session.plan, ...(session.sessionId !== undefined && { sessionId: session.sessionId }) };
  return {
    url: `${platform.userUrl}/rpc/user/GetUser`,
    method: 'POST',
    headers: { [serviceIdentityHeader]: new ServiceIdentitySigner('gateway', laptopServiceKeys()).identityFor('user', caller), 'content-type': 'application/json' },
    body: JSON.stringify({ userId: session.riderId }),
  };
}

/** One request by hand first: a benchmark of 401s or 404s would look fast and mean nothing. */
export async function checkTarget(target: LoadTarget, check: (body: unknown) => boolean, what: string): Promise<void> {
  const response = await fetch(target.url, { method: target.method ?? 'GET', headers: target.headers, body: target.body });
  const body = await expectOk(response, what);
  if (!check(body)) throw new Error(`${what} answered an unexpected body: ${JSON.stringify(body).slice(0, 300)}`);
}

/** The rider's own answer, whole: a /v1/me with a part marked missing measures a failure path. */
export function isRider(riderId: string) {
  return (body: unknown) => {
    const { user, id, partial } = body as { user?: { id?: string }; id?: string; partial?: unknown[] };
    return (user?.id === riderId || id === riderId) && (partial === undefined || partial.length === 0);
  };
}

/** A composed /v1/me (the account and the rider's activity, DOMAIN), whole: both parts there. */
export function isComposedRider(riderId: string) {
  const rider = isRider(riderId);
  return (body: unknown) => {
    const { reservation, trip } = body as { reservation?: unknown; trip?: unknown };
    return rider(body) && reservation !== undefined && trip !== undefined;
  };
}

export interface UserCacheLookups {
  hits: number;
  misses: number;
}

/** GetUser's read-cache counters from the user service's /metrics, to print the hit rate. */
export async function readUserCacheLookups(userUrl: string): Promise<UserCacheLookups> {
  const text = await (await fetch(`${userUrl}/metrics`)).text();
  const count = (result: 'hit' | 'miss'): number => {
    const line = text.split('\n').find((candidate) => candidate.startsWith('carshare_cache_lookups_total{') && candidate.includes('cache="user"') && candidate.includes(`result="${result}"`));
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  return { hits: count('hit'), misses: count('miss') };
}
