import type { Redis } from 'ioredis';
import { gcraLua } from './gcra.ts';
import type { RateLimitDecision, RateLimitRule, RateLimitStore } from './rate-limit-store.ts';
import { RedisLuaScript } from './redis-lua-script.ts';
import { slidingWindowLua } from './sliding-window.ts';

export interface RedisRateLimitStoreOptions {
  /**
   * Give it a client made for this: `enableOfflineQueue: false` and `maxRetriesPerRequest: 0`,
   * so that a lost connection fails the call at once and FailOpenRateLimitStore can decide
   * locally instead of queueing requests behind a reconnect.
   */
  redis: Redis;
  keyPrefix?: string;
}

/**
 * Keys outlive the moment their state decays by this much. Correctness never rests on the TTL (a
 * decayed state reads back exactly like a missing key); the grace covers instances whose clocks
 * run behind the writer's and so still need the state a little longer in real time.
 */
const expiryGraceMs = 1_000;

const scripts = {
  gcra: new RedisLuaScript(gcraLua),
  'sliding-window': new RedisLuaScript(slidingWindowLua),
} as const;

/**
 * Counters every gateway instance shares: one Lua script per algorithm, so each decision is one
 * atomic round trip. The time comes from the caller (see the ADR): Redis TIME would be one clock
 * for all instances, but would make the Redis adapter untestable on a fake clock and differ from
 * the memory adapter; instance clocks are NTP-synced to a few ms, far below any window.
 */
export class RedisRateLimitStore implements RateLimitStore {
  readonly #redis: Redis;
  readonly #keyPrefix: string;

  constructor(options: RedisRateLimitStoreOptions) {
    this.#redis = options.redis;
    this.#keyPrefix = options.keyPrefix ?? 'carshare:rate-limit:';
  }

  async consume(key: string, rule: RateLimitRule, cost: number, nowMs: number): Promise<RateLimitDecision> {
    const capacity = rule.algorithm === 'gcra' ? (rule.burst ?? rule.limit) : rule.limit;
    const reply = (await scripts[rule.algorithm].run(
      this.#redis,
      [`${this.#keyPrefix}${rule.algorithm}:${key}`],
      [Math.floor(nowMs), rule.limit, rule.windowMs, capacity, cost, expiryGraceMs],
    )) as [number, number, number, number];
    return { allowed: reply[0] === 1, limit: capacity, remaining: reply[1], resetMs: reply[2], retryAfterMs: reply[3] };
  }
}
