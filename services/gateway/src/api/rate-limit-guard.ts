import { ResourceExhausted, type HttpServer, type LiveConfig } from '@carshare/platform';
import type { RateLimitDecision, RateLimiter } from '@carshare/resilience';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { rateLimitHeaders, tightestLimit, type AppliedLimit } from '../domain/rate-limit-headers.ts';
import { limitsBeforeBody, limitsForAccount, type PlannedLimit, type RateLimits, type RequestIdentity } from '../domain/rate-limit-plan.ts';

declare module 'fastify' {
  interface FastifyReply {
    /**
     * The limits checked for this request so far (null until the first check). On the reply
     * itself, decorated by registerEdgeThrottle, rather than in a WeakMap keyed by reply: an
     * ephemeron per request was the largest thing the gateway kept alive across scavenges.
     */
    rateLimitsApplied: AppliedLimit[] | null;
  }
}

export interface RateLimitGuard {
  /** Limits known from the caller and the route alone: checked before the body is read. */
  beforeBody(reply: FastifyReply, routeRule: string | undefined, who: RequestIdentity): Promise<void>;
  /** Limits that need the body (the account a login targets). */
  forAccount(reply: FastifyReply, routeRule: string | undefined, account: string | undefined): Promise<void>;
  /** Whether a limit was checked for this request yet. */
  checked(reply: FastifyReply): boolean;
}

function appliedLimit(policy: string, rule: PlannedLimit['rule'], decision: RateLimitDecision): AppliedLimit {
  return { policy, rule, allowed: decision.allowed, remaining: decision.remaining, resetMs: decision.resetMs, retryAfterMs: decision.retryAfterMs };
}

/**
 * Checks every limit that applies and answers with the tightest one in the headers. Limits are
 * read from the live config on every request, so a changed config applies without a restart.
 * The limits applied to a request are kept with its reply, so each later check (the account,
 * once the body is read) reports the tightest of all of them rather than only its own.
 */
export function createRateLimitGuard(limiter: RateLimiter, limits: LiveConfig<RateLimits>): RateLimitGuard {
  async function enforce(reply: FastifyReply, planned: PlannedLimit[]): Promise<void> {
    // Checked, even where nothing applies (an unlimited plan): the edge throttle must not count it again.
    let applied = reply.rateLimitsApplied;
    if (!applied) {
      applied = [];
      reply.rateLimitsApplied = applied;
    }
    if (planned.length === 0) return;
    // One limit is the common case (a signed-in caller's plan): no Promise.all and no arrays for it.
    if (planned.length === 1) {
      const { key, rule, policy } = planned[0] as PlannedLimit;
      applied.push(appliedLimit(policy, rule, await limiter.consume(key, rule)));
    } else {
      const decisions = await Promise.all(planned.map(({ key, rule }) => limiter.consume(key, rule)));
      for (const [index, decision] of decisions.entries()) {
        const { policy, rule } = planned[index] as PlannedLimit;
        applied.push(appliedLimit(policy, rule, decision));
      }
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
    checked: (reply) => Boolean(reply.rateLimitsApplied),
  };
}

/**
 * Every request to the public port is held to a limit (issue 13 finding 8): API routes check
 * their own (the caller's plan, or the client IP when anonymous); everything else (unknown paths,
 * 405s, CORS preflights, health, GBFS, static files) counts against the anonymous per-IP rule, so
 * probing or scraping the port costs the prober. Unknown paths and preflights are refused before
 * anything else runs; other routes just before their handler, where a route that limited itself
 * is not counted twice; a request refused before either (a 403, a 400 from validation) is still
 * counted as it is answered, so the next one can be refused. Add it before CORS, which answers
 * preflights from its own onRequest hook.
 */
export function registerEdgeThrottle(app: HttpServer, guard: RateLimitGuard): void {
  app.decorateReply('rateLimitsApplied', null);
  const anonymous = (request: FastifyRequest) => ({ ip: request.ip, user: undefined });
  // Callback hooks, not async ones: on the hot path (a route that limited itself) each is one
  // WeakMap lookup and a call, with no promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    if (!request.is404 && request.method !== 'OPTIONS') return done();
    guard.beforeBody(reply, undefined, anonymous(request)).then(() => done(), done);
  });
  app.addHook('preHandler', (request, reply, done) => {
    if (guard.checked(reply)) return done();
    guard.beforeBody(reply, undefined, anonymous(request)).then(() => done(), done);
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    if (guard.checked(reply)) return done(null, payload);
    // The answer is decided; only the count (and its headers) is still to do.
    guard.beforeBody(reply, undefined, anonymous(request)).then(
      () => done(null, payload),
      () => done(null, payload),
    );
  });
}
