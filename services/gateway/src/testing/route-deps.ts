import { LiveConfig, Unauthenticated, systemClock, type Clock, type VerifiedCaller } from '@carshare/platform';
import { MemoryRateLimitStore, createRateLimiter } from '@carshare/resilience';
import { Value } from 'typebox/value';
import { MemoryIdempotencyStore } from '../adapters/memory-idempotency-store.ts';
import { createIdempotencyGuard } from '../api/idempotency-guard.ts';
import type { PublicRouteDeps } from '../api/public-route.ts';
import { createRateLimitGuard } from '../api/rate-limit-guard.ts';
import { RateLimitsSchema, type RateLimits } from '../domain/rate-limit-plan.ts';
import type { IdempotencyStore } from '../ports.ts';

/** The gateway's default limits, switched off: a route test asserts the route, not the throttle. */
export function limitsOff(): RateLimits {
  return { ...(Value.Default(RateLimitsSchema, {}) as RateLimits), enabled: false };
}

export interface RouteDepsOptions {
  /** Defaults to the gateway's limits switched off. */
  limits?: RateLimits;
  /** Defaults to a fresh memory store, so tests never see each other's keys. */
  idempotencyStore?: IdempotencyStore;
  clock?: Clock;
}

/**
 * What a public route needs, for a test that mounts a route group on its own: a verifier that
 * knows exactly the given callers by their token (any other token is the 401 a real verifier
 * gives), the real rate-limit and Idempotency-Key guards over memory stores.
 */
export function routeDepsFor(callers: readonly VerifiedCaller[], options: RouteDepsOptions = {}): PublicRouteDeps {
  const clock = options.clock ?? systemClock;
  const byToken = new Map(callers.map((caller) => [caller.token, caller]));
  return {
    verifier: {
      verify: async (token) => {
        const caller = byToken.get(token);
        if (!caller) throw Unauthenticated('INVALID_TOKEN', 'the access token is not valid');
        return caller;
      },
    },
    rateLimits: createRateLimitGuard(createRateLimiter({ store: new MemoryRateLimitStore(), clock }), new LiveConfig(options.limits ?? limitsOff())),
    idempotency: createIdempotencyGuard({
      store: options.idempotencyStore ?? new MemoryIdempotencyStore({ lockTtlMs: 30_000, retentionMs: 60_000 }),
      clock,
    }),
  };
}
