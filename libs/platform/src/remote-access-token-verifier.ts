import { createRemoteJWKSet } from 'jose';
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
  const [userEndpoint] = options.discovery.endpointsOf('user');
  const keys = createRemoteJWKSet(new URL('/.well-known/jwks.json', userEndpoint), {
    cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
    cooldownDuration: options.cooldownMs ?? 30_000,
    timeoutDuration: 2_000,
  });
  return createAccessTokenVerifier({ keys, clock: options.clock });
}
