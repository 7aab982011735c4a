import { systemClock } from '@carshare/platform';
import type { Clock } from '@carshare/platform';
import { assertValidRateLimit } from './rate-limit-store.ts';
import type { RateLimitDecision, RateLimitRule, RateLimitStore } from './rate-limit-store.ts';

export interface RateLimiter {
  /** Spends `cost` from `key`'s allowance under `rule` if there is enough; never waits. */
  consume(key: string, rule: RateLimitRule, cost?: number): Promise<RateLimitDecision>;
}

export interface RateLimiterDeps {
  store: RateLimitStore;
  clock?: Clock;
}

export function createRateLimiter(deps: RateLimiterDeps): RateLimiter {
  const { store } = deps;
  const clock = deps.clock ?? systemClock;
  return {
    async consume(key, rule, cost = 1) {
      assertValidRateLimit(rule, cost);
      return store.consume(key, rule, cost, clock.now());
    },
  };
}
