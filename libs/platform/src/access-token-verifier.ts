import { errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { roles, type Caller, type Role } from './call-context.ts';
import { systemClock, type Clock } from './clock.ts';
import { Unauthenticated, Unavailable } from './errors.ts';

export const accessTokenIssuer = 'carshare-user';
export const accessTokenAudience = 'carshare';
export const accessTokenAlgorithm = 'EdDSA';

export interface AccessTokenVerifierOptions {
  /** Key lookup by `kid`: a local key set in the user service, the remote JWKS elsewhere. */
  keys: JWTVerifyGetKey;
  clock?: Clock;
  /** Verified tokens remembered until they expire, so a rider's burst of calls pays for one check. */
  cacheSize?: number;
}

export interface AccessTokenVerifier {
  verify(token: string): Promise<Caller>;
}

interface CachedCaller {
  caller: Caller;
  notBeforeMs: number;
  expiresAtMs: number;
}

function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (roles as readonly string[]).includes(value);
}

/**
 * EdDSA only (`alg` pinned, so `none` and HS256 key-confusion tokens fail), issuer, audience,
 * `exp` and `nbf` checked. A signature check costs ~0.24 ms here, so successful results are
 * cached per token string until the token's own expiry; the expiry is checked on every hit.
 */
export function createAccessTokenVerifier(options: AccessTokenVerifierOptions): AccessTokenVerifier {
  const clock = options.clock ?? systemClock;
  const cacheSize = options.cacheSize ?? 10_000;
  const cache = new Map<string, CachedCaller>();

  return {
    async verify(token) {
      const now = clock.now();
      const cached = cache.get(token);
      if (cached) {
        if (now >= cached.notBeforeMs && now < cached.expiresAtMs) return cached.caller;
        cache.delete(token);
        if (now >= cached.expiresAtMs) throw Unauthenticated('TOKEN_EXPIRED', 'the access token has expired; refresh it');
      }
      let payload;
      try {
        ({ payload } = await jwtVerify(token, options.keys, {
          algorithms: [accessTokenAlgorithm],
          issuer: accessTokenIssuer,
          audience: accessTokenAudience,
          requiredClaims: ['sub', 'exp', 'iat'],
          currentDate: new Date(now),
          clockTolerance: 5,
        }));
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired) throw Unauthenticated('TOKEN_EXPIRED', 'the access token has expired; refresh it');
        // The keys could not be fetched (user service down or slow): that says nothing about the
        // token, so the caller gets a 503 to retry, not a 401 that would log them out.
        if (error instanceof joseErrors.JWKSTimeout || !(error instanceof joseErrors.JOSEError)) {
          throw Unavailable('AUTH_KEYS_UNAVAILABLE', 'token keys cannot be loaded right now; retry shortly', { retryAfterMs: 1_000 }, { cause: error });
        }
        throw Unauthenticated('INVALID_TOKEN', 'the access token is not valid', {}, { cause: error });
      }
      const { sub, role, plan, exp, nbf } = payload;
      if (typeof sub !== 'string' || !isRole(role) || typeof plan !== 'string' || typeof exp !== 'number') {
        throw Unauthenticated('INVALID_TOKEN', 'the access token lacks required claims');
      }
      const caller: Caller = { userId: sub, role, plan, token };
      if (cache.size >= cacheSize) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      cache.set(token, { caller, notBeforeMs: typeof nbf === 'number' ? nbf * 1000 - 5000 : 0, expiresAtMs: exp * 1000 + 5000 });
      return caller;
    },
  };
}
