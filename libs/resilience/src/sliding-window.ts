import type { RateLimitDecision, RateLimitRule } from './rate-limit-store.ts';

/**
 * Sliding-window counter: fixed windows aligned to multiples of windowMs, with the previous
 * window's count weighted by how much of it the sliding window still covers. Two integers per
 * key instead of a log of timestamps; the price is that the previous window is assumed uniform.
 *
 * All comparisons are multiplied through by windowMs so they stay in integers: allowed iff
 *   previous × (W − elapsed) + (current + cost) × W ≤ limit × W.
 */
export interface SlidingWindowState {
  windowStart: number;
  current: number;
  previous: number;
}

export interface SlidingWindowOutcome {
  decision: RateLimitDecision;
  state: SlidingWindowState;
  /** After this the state is all zeroes: drop it. */
  expiresAtMs: number;
}

export function slidingWindowConsume(
  stored: SlidingWindowState | undefined,
  rule: RateLimitRule,
  cost: number,
  nowMs: number,
): SlidingWindowOutcome {
  const now = Math.floor(nowMs);
  const { limit, windowMs: w } = rule;
  const windowStart = now - (now % w);
  let current = 0;
  let previous = 0;
  if (stored?.windowStart === windowStart) {
    current = stored.current;
    previous = stored.previous;
  } else if (stored?.windowStart === windowStart - w) {
    previous = stored.current;
  }
  const elapsed = now - windowStart;
  const weightedPrevious = previous * (w - elapsed);
  const allowed = weightedPrevious + (current + cost) * w <= limit * w;
  if (allowed) current += cost;

  let retryAfterMs = 0;
  if (!allowed) {
    const room = limit - current - cost;
    // Within this window: the previous window's weight shrinks by `previous` per ms.
    const elapsedNeeded = room >= 0 && previous > 0 ? w - Math.floor((room * w) / previous) : w;
    if (elapsedNeeded < w) {
      retryAfterMs = elapsedNeeded - elapsed;
    } else {
      // In the next window this window's count becomes the weighted one.
      const nextElapsed = current > 0 ? Math.max(0, w - Math.floor(((limit - cost) * w) / current)) : 0;
      retryAfterMs = windowStart + w + nextElapsed - now;
    }
  }
  const resetAt = current > 0 ? windowStart + 2 * w : previous > 0 ? windowStart + w : now;
  return {
    decision: {
      allowed,
      limit,
      remaining: Math.max(0, Math.floor((limit * w - weightedPrevious - current * w) / w)),
      resetMs: resetAt - now,
      retryAfterMs,
    },
    state: { windowStart, current, previous },
    expiresAtMs: windowStart + 2 * w,
  };
}

/**
 * The same algorithm for Redis, line for line, in one hash {w, c, p}. KEYS[1] = key;
 * ARGV = now ms, limit, window ms, (unused burst), cost, expiry grace ms. Returns {allowed, remaining, resetMs,
 * retryAfterMs}. A denied request writes nothing.
 */
export const slidingWindowLua = `
local now = math.floor(tonumber(ARGV[1]))
local limit = tonumber(ARGV[2])
local w = tonumber(ARGV[3])
local cost = tonumber(ARGV[5])
local window_start = now - (now % w)
local stored = redis.call('HMGET', KEYS[1], 'w', 'c', 'p')
local current = 0
local previous = 0
if stored[1] then
  local stored_start = tonumber(stored[1])
  if stored_start == window_start then
    current = tonumber(stored[2])
    previous = tonumber(stored[3])
  elseif stored_start == window_start - w then
    previous = tonumber(stored[2])
  end
end
local elapsed = now - window_start
local weighted_previous = previous * (w - elapsed)
local allowed = weighted_previous + (current + cost) * w <= limit * w
local retry_after = 0
if allowed then
  current = current + cost
  redis.call('HSET', KEYS[1], 'w', string.format('%d', window_start), 'c', current, 'p', previous)
  redis.call('PEXPIRE', KEYS[1], string.format('%d', window_start + 2 * w - now + tonumber(ARGV[6])))
else
  local room = limit - current - cost
  local elapsed_needed = w
  if room >= 0 and previous > 0 then elapsed_needed = w - math.floor(room * w / previous) end
  if elapsed_needed < w then
    retry_after = elapsed_needed - elapsed
  else
    local next_elapsed = 0
    if current > 0 then next_elapsed = math.max(0, w - math.floor((limit - cost) * w / current)) end
    retry_after = window_start + w + next_elapsed - now
  end
end
local reset_at = now
if current > 0 then reset_at = window_start + 2 * w elseif previous > 0 then reset_at = window_start + w end
local remaining = math.max(0, math.floor((limit * w - weighted_previous - current * w) / w))
return {allowed and 1 or 0, remaining, reset_at - now, retry_after}
`;
