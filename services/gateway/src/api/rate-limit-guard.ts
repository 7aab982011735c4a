import { ResourceExhausted, type LiveConfig } from '@carshare/platform';
import type { RateLimiter } from '@carshare/resilience';
import type { FastifyReply } from 'fastify';
import { rateLimitHeaders, tightestLimit, type AppliedLimit } from '../domain/rate-limit-headers.ts';
import { limitsBeforeBody, limitsForAccount, type PlannedLimit, type RateLimits, type RequestIdentity } from '../domain/rate-limit-plan.ts';

export interface RateLimitGuard {
  /** Limits known from the caller and the route alone: checked before the body is read. */
  beforeBody(reply: FastifyReply, routeRule: string | undefined, who: RequestIdentity): Promise<void>;
  /** Limits that need the body (the account a login targets). */
  forAccount(reply: FastifyReply, routeRule: string | undefined, account: string | undefined): Promise<void>;
}

/**
 * Checks every limit that applies and answers with the tightest one in the headers. Limits are
 * read from the live config on every request, so a changed config applies without a restart.
 * The limits applied to a request are kept with its reply, so each later check (the account,
 * once the body is read) reports the tightest of all of them rather than only its own.
 */
export function createRateLimitGuard(limiter: RateLimiter, limits: LiveConfig<RateLimits>): RateLimitGuard {
  const appliedByReply = new WeakMap<FastifyReply, AppliedLimit[]>();

  async function enforce(reply: FastifyReply, planned: PlannedLimit[]): Promise<void> {
    if (planned.length === 0) return;
    const decisions = await Promise.all(planned.map(({ key, rule }) => limiter.consume(key, rule)));
    const applied = appliedByReply.get(reply) ?? [];
    appliedByReply.set(reply, applied);
    for (const [index, decision] of decisions.entries()) {
      const { policy, rule } = planned[index] as PlannedLimit;
      applied.push({ policy, rule, allowed: decision.allowed, remaining: decision.remaining, resetMs: decision.resetMs, retryAfterMs: decision.retryAfterMs });
    }
    void reply.headers(rateLimitHeaders(applied));
    const tightest = tightestLimit(applied);
    if (tightest && !tightest.allowed) {
      throw ResourceExhausted('RATE_LIMITED', 'too many requests; slow down and retry later', {
        policy: tightest.policy,
        limit: tightest.rule.limit,
        windowSeconds: Math.ceil(tightest.rule.windowMs / 1000),
        retryAfterMs: tightest.retryAfterMs,
      });
    }
  }

  return {
    beforeBody: (reply, routeRule, who) => enforce(reply, limitsBeforeBody(limits.get(), routeRule, who)),
    forAccount: (reply, routeRule, account) => enforce(reply, limitsForAccount(limits.get(), routeRule, account)),
  };
}
