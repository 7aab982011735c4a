import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { createAccessTokenVerifier, type AccessTokenVerifier } from './access-token-verifier.ts';
import type { Clock } from './clock.ts';
import type { Discovery } from './discovery.ts';

export interface RemoteAccessTokenVerifierOptions {
  discovery: Discovery;
  clock: Clock;
  /** How long the user service's published keys are trusted before being fetched again. */
  cacheMaxAgeMs?: number;
  /** An unknown `kid` triggers a refetch at most this often (key rotation without restarts). */
  cooldownMs?: number;
}

/**
 * Verifies end-user access tokens in any service but the issuer, against the user service's
 * published key set (`/.well-known/jwks.json`), found through discovery like any downstream.
 */
export function createRemoteAccessTokenVerifier(options: RemoteAccessTokenVerifierOptions): AccessTokenVerifier {
  // Found at verification time, not at construction: with DNS or etcd discovery the user service
  // may announce itself after this process starts, and may move; the key set follows it.
  let current: { endpoint: string; keys: JWTVerifyGetKey } | undefined;
  const keys: JWTVerifyGetKey = (header, token) => {
    const [endpoint] = options.discovery.endpointsOf('user') as [string];
    if (current?.endpoint !== endpoint) {
      current = {
        endpoint,
        keys: createRemoteJWKSet(new URL('/.well-known/jwks.json', endpoint), {
          cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
          cooldownDuration: options.cooldownMs ?? 30_000,
          timeoutDuration: 2_000,
        }),
      };
    }
    return current.keys(header, token);
  };
  return createAccessTokenVerifier({ keys, clock: options.clock });
}
