import { gcraConsume } from './gcra.ts';
import type { RateLimitDecision, RateLimitRule, RateLimitStore } from './rate-limit-store.ts';
import { slidingWindowConsume } from './sliding-window.ts';
import type { SlidingWindowState } from './sliding-window.ts';

export interface MemoryRateLimitStoreOptions {
  /** Hard cap on keys; the least recently written are dropped first beyond it. */
  maxKeys?: number;
  /** How often (in the callers' clock) expired keys are swept out. */
  sweepIntervalMs?: number;
}

interface Entry {
  expiresAtMs: number;
  tatUs: number;
  window: SlidingWindowState | undefined;
}

/**
 * Rate limits in this process only: the embedded topology, tests, and the fallback while Redis
 * is away. Memory stays bounded without timers: keys whose state has decayed back to "fresh" are
 * swept on use, and a hard cap drops the least recently written beyond `maxKeys`.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly #entries = new Map<string, Entry>();
  readonly #maxKeys: number;
  readonly #sweepIntervalMs: number;
  #nextSweepMs = 0;

  constructor(options: MemoryRateLimitStoreOptions = {}) {
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 10_000;
  }

  get size(): number {
    return this.#entries.size;
  }

  consume(key: string, rule: RateLimitRule, cost: number, nowMs: number): Promise<RateLimitDecision> {
    return Promise.resolve(this.consumeNow(key, rule, cost, nowMs));
  }

  /** Synchronous form, for callers that cannot afford a promise. */
  consumeNow(key: string, rule: RateLimitRule, cost: number, nowMs: number): RateLimitDecision {
    if (nowMs >= this.#nextSweepMs) this.#sweep(nowMs);
    const storeKey = `${rule.algorithm}:${key}`;
    const found = this.#entries.get(storeKey);
    const live = found !== undefined && found.expiresAtMs > nowMs ? found : undefined;
    if (rule.algorithm === 'gcra') {
      const outcome = gcraConsume(live?.tatUs, rule, cost, nowMs);
      if (outcome.decision.allowed) this.#write(storeKey, { expiresAtMs: outcome.expiresAtMs, tatUs: outcome.tatUs, window: undefined });
      return outcome.decision;
    }
    const outcome = slidingWindowConsume(live?.window, rule, cost, nowMs);
    if (outcome.decision.allowed) this.#write(storeKey, { expiresAtMs: outcome.expiresAtMs, tatUs: 0, window: outcome.state });
    return outcome.decision;
  }

  #write(storeKey: string, entry: Entry): void {
    // Re-inserting moves the key to the end of the Map's order: the front is least recently written.
    this.#entries.delete(storeKey);
    this.#entries.set(storeKey, entry);
    if (this.#entries.size > this.#maxKeys) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }

  #sweep(nowMs: number): void {
    for (const [storeKey, entry] of this.#entries) {
      if (entry.expiresAtMs <= nowMs) this.#entries.delete(storeKey);
    }
    this.#nextSweepMs = nowMs + this.#sweepIntervalMs;
  }
}
