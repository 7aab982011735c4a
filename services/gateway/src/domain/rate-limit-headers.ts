import type { RateRule } from './rate-limit-plan.ts';

/** One limit checked for a request, and what the limiter decided. */
export interface AppliedLimit {
  policy: string;
  rule: RateRule;
  allowed: boolean;
  remaining: number;
  resetMs: number;
  retryAfterMs: number;
}

function seconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}

/**
 * The limit a client must heed first: a refusing one (the longest wait), else the one with the
 * fewest requests left (the later reset on a tie). Every limit checked so far counts, so a
 * looser one checked later (login's per-account after its per-IP) never hides a tighter one.
 */
export function tightestLimit(applied: readonly AppliedLimit[]): AppliedLimit | undefined {
  let tightest: AppliedLimit | undefined;
  for (const limit of applied) {
    if (!tightest) tightest = limit;
    else if (!limit.allowed || !tightest.allowed) {
      if (!limit.allowed && (tightest.allowed || limit.retryAfterMs > tightest.retryAfterMs)) tightest = limit;
    } else if (limit.remaining < tightest.remaining || (limit.remaining === tightest.remaining && limit.resetMs > tightest.resetMs)) {
      tightest = limit;
    }
  }
  return tightest;
}

/**
 * Response headers per draft-ietf-httpapi-ratelimit-headers (-10/-11): `RateLimit-Policy` lists
 * every policy that applied, as structured-field items with the quota `q` per window `w`
 * seconds (a GCRA rule's sustained rate, never its burst); `RateLimit` reports the tightest
 * one's remaining quota `r` and seconds to reset `t`. The older `RateLimit-Limit/-Remaining/
 * -Reset` (and `X-` copies) carry the same tightest limit for clients of the older drafts.
 */
export function rateLimitHeaders(applied: readonly AppliedLimit[]): Record<string, string> {
  const tightest = tightestLimit(applied);
  if (!tightest) return {};
  const policies = new Map<string, RateRule>();
  for (const { policy, rule } of applied) policies.set(policy, rule);
  const remaining = String(tightest.remaining);
  const reset = String(seconds(tightest.resetMs));
  const limit = String(tightest.rule.limit);
  return {
    'ratelimit-policy': [...policies].map(([policy, rule]) => `"${policy}";q=${rule.limit};w=${Math.max(1, seconds(rule.windowMs))}`).join(', '),
    ratelimit: `"${tightest.policy}";r=${remaining};t=${reset}`,
    'ratelimit-limit': limit,
    'ratelimit-remaining': remaining,
    'ratelimit-reset': reset,
    'x-ratelimit-limit': limit,
    'x-ratelimit-remaining': remaining,
    'x-ratelimit-reset': reset,
  };
}
