import { ResourceExhausted, type LiveConfig } from '@carshare/platform';
import type { RateLimitDecision, RateLimiter } from '@carshare/resilience';
import type { FastifyReply } from 'fastify';
import { limitsBeforeBody, limitsForAccount, type PlannedLimit, type RateLimits, type RequestIdentity } from '../domain/rate-limit-plan.ts';

export interface RateLimitGuard {
  /** Limits known from the caller and the route alone: checked before the body is read. */
  beforeBody(reply: FastifyReply, routeRule: string | undefined, who: RequestIdentity): Promise<void>;
  /** Limits that need the body (the account a login targets). */
  forAccount(reply: FastifyReply, routeRule: string | undefined, account: string | undefined): Promise<void>;
}

function setHeaders(reply: FastifyReply, decision: RateLimitDecision): void {
  const resetSeconds = Math.max(0, Math.ceil(decision.resetMs / 1000));
  void reply.header('ratelimit-limit', decision.limit);
  void reply.header('ratelimit-remaining', decision.remaining);
  void reply.header('ratelimit-reset', resetSeconds);
  void reply.header('x-ratelimit-limit', decision.limit);
  void reply.header('x-ratelimit-remaining', decision.remaining);
  void reply.header('x-ratelimit-reset', resetSeconds);
}

/**
 * Checks every limit that applies and answers with the tightest one in the headers. Limits are
 * read from the live config on every request, so a changed config applies without a restart.
 */
export function createRateLimitGuard(limiter: RateLimiter, limits: LiveConfig<RateLimits>): RateLimitGuard {
  async function enforce(reply: FastifyReply, planned: PlannedLimit[]): Promise<void> {
    if (planned.length === 0) return;
    const decisions = await Promise.all(planned.map(({ key, rule }) => limiter.consume(key, rule)));
    let tightest = decisions[0] as RateLimitDecision;
    let denied: RateLimitDecision | undefined;
    for (const decision of decisions) {
      if (decision.remaining < tightest.remaining) tightest = decision;
      if (!decision.allowed && (!denied || decision.retryAfterMs > denied.retryAfterMs)) denied = decision;
    }
    setHeaders(reply, denied ?? tightest);
    if (denied) {
      throw ResourceExhausted('RATE_LIMITED', 'too many requests; slow down and retry later', {
        limit: denied.limit,
        retryAfterMs: denied.retryAfterMs,
      });
    }
  }

  return {
    beforeBody: (reply, routeRule, who) => enforce(reply, limitsBeforeBody(limits.get(), routeRule, who)),
    forAccount: (reply, routeRule, account) => enforce(reply, limitsForAccount(limits.get(), routeRule, account)),
  };
}
