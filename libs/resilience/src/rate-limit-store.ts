import { InvalidArgument } from '@carshare/platform';

export type RateLimitAlgorithm = 'gcra' | 'sliding-window';

export interface RateLimitRule {
  algorithm: RateLimitAlgorithm;
  /** Requests (cost units) allowed per window. */
  limit: number;
  windowMs: number;
  /** GCRA only: how many may arrive at once (the bucket size). Defaults to `limit`. */
  burst?: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** Capacity the remaining count is out of: `burst ?? limit` for GCRA, `limit` for the window. */
  limit: number;
  /** Unit-cost requests that would still be allowed right now (after this one, if allowed). */
  remaining: number;
  /** Ms until the key is back to full capacity if nothing else arrives. */
  resetMs: number;
  /** 0 when allowed; otherwise the exact ms after which the same request would be allowed. */
  retryAfterMs: number;
}

/**
 * Port: one atomic read-decide-write per call. The algorithm runs inside the store because a
 * shared store (Redis) must decide atomically; `nowMs` comes from the caller's clock so that
 * every adapter, and every test, sees the same time.
 */
export interface RateLimitStore {
  consume(key: string, rule: RateLimitRule, cost: number, nowMs: number): Promise<RateLimitDecision>;
}

function isPositiveInteger(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 1;
}

/** Throws `InvalidArgument` for rules no algorithm can honour (fractions, zero, cost > capacity). */
export function assertValidRateLimit(rule: RateLimitRule, cost: number): void {
  const capacity = rule.algorithm === 'gcra' ? (rule.burst ?? rule.limit) : rule.limit;
  const problem =
    rule.algorithm !== 'gcra' && rule.algorithm !== 'sliding-window'
      ? `unknown algorithm ${String(rule.algorithm)}`
      : !isPositiveInteger(rule.limit)
        ? `limit must be a positive integer, got ${rule.limit}`
        : !isPositiveInteger(rule.windowMs)
          ? `windowMs must be a positive integer, got ${rule.windowMs}`
          : rule.burst !== undefined && (rule.algorithm !== 'gcra' || !isPositiveInteger(rule.burst))
            ? `burst must be a positive integer and only applies to gcra, got ${rule.burst}`
            : !isPositiveInteger(cost)
              ? `cost must be a positive integer, got ${cost}`
              : cost > capacity
                ? `cost ${cost} exceeds the capacity ${capacity}: it could never be allowed`
                : undefined;
  if (problem) throw InvalidArgument('INVALID_RATE_LIMIT', `invalid rate limit: ${problem}`, { rule, cost });
}
