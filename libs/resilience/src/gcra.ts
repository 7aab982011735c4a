import type { RateLimitDecision, RateLimitRule } from './rate-limit-store.ts';

/**
 * Generic Cell Rate Algorithm: a token bucket kept as one number, the theoretical arrival time
 * (TAT) of the next request. Each request pushes TAT by `cost × interval`; it is allowed while
 * TAT stays within `burst × interval` of now.
 *
 * Time is in integer microseconds so that "1000 ms / 3" does not drift through float sums and the
 * Lua copy below computes bit-identical results (Redis Lua numbers are doubles; µs epoch fits in
 * 2^53 until year 2255). The interval is rounded up: never more than `limit` per window.
 */
export interface GcraOutcome {
  decision: RateLimitDecision;
  /** TAT to store; unchanged when denied. */
  tatUs: number;
  /** When the stored TAT no longer matters (it equals a fresh key): drop it then. */
  expiresAtMs: number;
}

export function gcraConsume(storedTatUs: number | undefined, rule: RateLimitRule, cost: number, nowMs: number): GcraOutcome {
  const nowUs = Math.floor(nowMs) * 1000;
  const interval = Math.ceil((rule.windowMs * 1000) / rule.limit);
  const capacity = rule.burst ?? rule.limit;
  const tolerance = capacity * interval;
  const tat = storedTatUs === undefined ? nowUs : Math.max(storedTatUs, nowUs);
  const newTat = tat + cost * interval;
  const allowAt = newTat - tolerance;
  if (nowUs < allowAt) {
    return {
      decision: {
        allowed: false,
        limit: capacity,
        remaining: Math.max(0, Math.floor((nowUs + tolerance - tat) / interval)),
        resetMs: Math.ceil((tat - nowUs) / 1000),
        retryAfterMs: Math.ceil((allowAt - nowUs) / 1000),
      },
      tatUs: tat,
      expiresAtMs: Math.ceil(tat / 1000),
    };
  }
  return {
    decision: {
      allowed: true,
      limit: capacity,
      remaining: Math.floor((nowUs + tolerance - newTat) / interval),
      resetMs: Math.ceil((newTat - nowUs) / 1000),
      retryAfterMs: 0,
    },
    tatUs: newTat,
    expiresAtMs: Math.ceil(newTat / 1000),
  };
}

/**
 * The same algorithm for Redis, line for line. KEYS[1] = key; ARGV = now ms, limit, window ms,
 * burst, cost, expiry grace ms. Returns {allowed 0|1, remaining, resetMs, retryAfterMs}. string.format('%d')
 * because Lua 5.1's tostring keeps 14 digits and a µs timestamp has 16.
 */
export const gcraLua = `
local now = math.floor(tonumber(ARGV[1])) * 1000
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local capacity = tonumber(ARGV[4])
local cost = tonumber(ARGV[5])
local interval = math.ceil(window * 1000 / limit)
local tolerance = capacity * interval
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then tat = math.max(tonumber(stored), now) end
local new_tat = tat + cost * interval
local allow_at = new_tat - tolerance
if now < allow_at then
  return {0, math.max(0, math.floor((now + tolerance - tat) / interval)), math.ceil((tat - now) / 1000), math.ceil((allow_at - now) / 1000)}
end
local ttl = math.ceil(new_tat / 1000) - now / 1000 + tonumber(ARGV[6])
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', string.format('%d', ttl))
return {1, math.floor((now + tolerance - new_tat) / interval), math.ceil((new_tat - now) / 1000), 0}
`;
