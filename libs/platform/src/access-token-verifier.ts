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
  /**
   * No token is honoured longer than this after its `iat`, and none may claim a longer life
   * (`exp - iat`): a leaked signing key or a minting bug cannot produce a 10-year token. Above
   * the user service's access-token lifetime (15 min) with room for a longer configured one.
   */
  maxTokenAgeMs?: number;
}

/** Clocks of the issuer and the verifier may differ this much: `iat`, `nbf` and `exp` get this slack. */
export const clockSkewSeconds = 5;
export const defaultMaxTokenAgeMs = 60 * 60_000;

/** The caller a token names, with what revocation needs to know about the token itself. */
export interface VerifiedCaller extends Caller {
  token: string;
  /** The login session the token belongs to (`sid` claim), when the issuer says: revocation is per session. */
  sessionId?: string;
  /** When the token was issued (`iat`): a user-wide revocation refuses every token issued before it. */
  issuedAtMs: number;
}

export interface AccessTokenVerifier {
  verify(token: string): Promise<VerifiedCaller>;
}

interface CachedCaller {
  caller: VerifiedCaller;
  notBeforeMs: number;
  expiresAtMs: number;
}

function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (roles as readonly string[]).includes(value);
}

/**
 * EdDSA only (`alg` pinned, so `none` and HS256 key-confusion tokens fail), issuer, audience,
 * `exp`, `nbf` and `iat` checked (not in the future, not older than the maximum age, no longer a
 * life than that). A signature check costs ~0.24 ms here, so successful results are
 * cached per token string until the token's own expiry; the expiry is checked on every hit.
 */
export function createAccessTokenVerifier(options: AccessTokenVerifierOptions): AccessTokenVerifier {
  const clock = options.clock ?? systemClock;
  const cacheSize = options.cacheSize ?? 10_000;
  const maxTokenAgeSeconds = Math.floor((options.maxTokenAgeMs ?? defaultMaxTokenAgeMs) / 1000);
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
          clockTolerance: clockSkewSeconds,
          // Also refuses an `iat` in the future (beyond the skew): a token cannot predate its making.
          maxTokenAge: maxTokenAgeSeconds,
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
      const { sub, role, plan, exp, nbf, iat, sid } = payload;
      if (typeof sub !== 'string' || !isRole(role) || typeof plan !== 'string' || typeof exp !== 'number' || typeof iat !== 'number') {
        throw Unauthenticated('INVALID_TOKEN', 'the access token lacks required claims');
      }
      if (exp - iat > maxTokenAgeSeconds) {
        throw Unauthenticated('INVALID_TOKEN', 'the access token claims a longer life than any token is given');
      }
      const caller: VerifiedCaller = { userId: sub, role, plan, token, issuedAtMs: iat * 1000, ...(typeof sid === 'string' && { sessionId: sid }) };
      if (cache.size >= cacheSize) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      cache.set(token, { caller, notBeforeMs: typeof nbf === 'number' ? (nbf - clockSkewSeconds) * 1000 : 0, expiresAtMs: Math.min(exp, iat + maxTokenAgeSeconds) * 1000 + clockSkewSeconds * 1000 });
      return caller;
    },
  };
}
