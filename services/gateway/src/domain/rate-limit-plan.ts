import type { Static } from 'typebox';
import { Type } from 'typebox';

export const RateRuleSchema = Type.Object(
  {
    algorithm: Type.Union([Type.Literal('gcra'), Type.Literal('sliding-window')]),
    limit: Type.Integer({ minimum: 1 }),
    windowMs: Type.Integer({ minimum: 1 }),
    burst: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);
export type RateRule = Static<typeof RateRuleSchema>;

const gcra = (limit: number, windowMs: number, burst: number): RateRule => ({ algorithm: 'gcra', limit, windowMs, burst });
const slidingWindow = (limit: number, windowMs: number): RateRule => ({ algorithm: 'sliding-window', limit, windowMs });

export const RateLimitsSchema = Type.Object({
  enabled: Type.Boolean({ default: true }),
  /** Calls without a token, per client IP. */
  anonymousPerIp: Type.Object(RateRuleSchema.properties, { default: gcra(120, 60_000, 60) }),
  /** Calls with a token, per user, by plan; `null` = no limit (operators' plan). */
  plans: Type.Object(
    {
      free: Type.Union([RateRuleSchema, Type.Null()]),
      basic: Type.Union([RateRuleSchema, Type.Null()]),
      premium: Type.Union([RateRuleSchema, Type.Null()]),
      unlimited: Type.Union([RateRuleSchema, Type.Null()]),
    },
    {
      default: {
        free: gcra(300, 60_000, 60),
        basic: gcra(600, 60_000, 120),
        premium: gcra(1_200, 60_000, 240),
        unlimited: null,
      },
    },
  ),
  /**
   * Extra limits for sensitive routes, on top of the above, per IP (and per targeted account
   * where configured). Login has no per-account limit here by default: the user service
   * throttles each account itself and lets the owner's known device through (ADR 0017), while
   * a count at the edge would lock the owner out after a stranger's few guesses (issue 13
   * finding 2).
   */
  routes: Type.Record(
    Type.String(),
    Type.Object({ perIp: Type.Optional(RateRuleSchema), perAccount: Type.Optional(RateRuleSchema) }, { additionalProperties: false }),
    {
      default: {
        login: { perIp: slidingWindow(20, 60_000) },
        register: { perIp: slidingWindow(10, 60 * 60_000) },
        refresh: { perIp: slidingWindow(60, 60_000) },
      },
    },
  ),
  /** Per device credential, for telemetry (applied when the device routes arrive). */
  perDevice: Type.Object(RateRuleSchema.properties, { default: gcra(60, 60_000, 10) }),
});
export type RateLimits = Static<typeof RateLimitsSchema>;

export interface RequestIdentity {
  ip: string;
  user: { id: string; plan: string } | undefined;
}

export interface PlannedLimit {
  key: string;
  rule: RateRule;
  /** The policy's name in `RateLimit-Policy` / `RateLimit` (the rule, never the key: no addresses or emails). */
  policy: string;
}

/** The limits a request is held to before its body is read: who it is and which route. */
export function limitsBeforeBody(limits: RateLimits, routeRule: string | undefined, who: RequestIdentity): PlannedLimit[] {
  if (!limits.enabled) return [];
  const planned: PlannedLimit[] = [];
  if (who.user) {
    const planRule = (limits.plans as Record<string, RateRule | null>)[who.user.plan];
    if (planRule) planned.push({ key: `user:${who.user.id}`, rule: planRule, policy: `plan-${who.user.plan}` });
  } else {
    planned.push({ key: `ip:${who.ip}`, rule: limits.anonymousPerIp, policy: 'anonymous' });
  }
  const route = routeRule === undefined ? undefined : limits.routes[routeRule];
  if (route?.perIp) planned.push({ key: `route:${routeRule}:ip:${who.ip}`, rule: route.perIp, policy: `${routeRule}-ip` });
  return planned;
}

/** The per-account limit of a route, once the body names the account (login's email). */
export function limitsForAccount(limits: RateLimits, routeRule: string | undefined, account: string | undefined): PlannedLimit[] {
  if (!limits.enabled || routeRule === undefined || account === undefined) return [];
  const rule = limits.routes[routeRule]?.perAccount;
  return rule ? [{ key: `route:${routeRule}:account:${account.trim().toLowerCase()}`, rule, policy: `${routeRule}-account` }] : [];
}
