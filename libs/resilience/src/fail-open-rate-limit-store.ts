import type { Registry } from 'prom-client';
import { MemoryRateLimitStore } from './memory-rate-limit-store.ts';
import type { RateLimitDecision, RateLimitRule, RateLimitStore } from './rate-limit-store.ts';
import { silentLogger, type StructuredLogger } from '@carshare/platform';
import { resilienceMetrics } from './resilience-metrics.ts';
import type { ResilienceMetrics } from './resilience-metrics.ts';

export interface FailOpenRateLimitStoreOptions {
  /** The shared store, normally RedisRateLimitStore. */
  primary: RateLimitStore;
  /** Decides while the primary is away; a MemoryRateLimitStore by default. */
  fallback?: RateLimitStore;
  /** Label of the metrics and logs. */
  name?: string;
  /** A primary answer slower than this counts as a failure: the request is decided locally. */
  timeoutMs?: number;
  /** During an outage, how long (on the callers' clock) to stay local before probing the primary again. */
  probeIntervalMs?: number;
  registry?: Registry;
  logger?: StructuredLogger;
}

class RateLimitStoreTimeout extends Error {
  constructor(ms: number) {
    super(`rate-limit store did not answer within ${ms} ms`);
    this.name = 'RateLimitStoreTimeout';
  }
}

/**
 * A shared rate-limit store that fails *open*: when Redis is unreachable or slow, requests are
 * limited per instance by the fallback instead of being refused or left waiting. Limits become
 * N× looser with N instances for the length of the outage; an outage of the limiter must not
 * become an outage of the API.
 *
 * One probe at a time goes back to the primary every `probeIntervalMs`; everything else stays
 * local so that a dead Redis costs no timeout per request. The outage is logged once when it
 * starts and once when it ends.
 */
export class FailOpenRateLimitStore implements RateLimitStore {
  readonly #primary: RateLimitStore;
  readonly #fallback: RateLimitStore;
  readonly #name: string;
  readonly #timeoutMs: number;
  readonly #probeIntervalMs: number;
  readonly #metrics: ResilienceMetrics;
  readonly #logger: StructuredLogger;
  #degraded = false;
  #probing = false;
  #nextProbeMs = 0;
  #degradedSinceMs = 0;

  constructor(options: FailOpenRateLimitStoreOptions) {
    this.#primary = options.primary;
    this.#fallback = options.fallback ?? new MemoryRateLimitStore();
    this.#name = options.name ?? 'redis';
    this.#timeoutMs = options.timeoutMs ?? 50;
    this.#probeIntervalMs = options.probeIntervalMs ?? 1_000;
    this.#metrics = resilienceMetrics(options.registry);
    this.#logger = options.logger ?? silentLogger;
    this.#metrics.rateLimitStoreDegraded.set({ store: this.#name }, 0);
  }

  /** True while decisions are being taken locally. */
  get degraded(): boolean {
    return this.#degraded;
  }

  async consume(key: string, rule: RateLimitRule, cost: number, nowMs: number): Promise<RateLimitDecision> {
    if (this.#degraded && (this.#probing || nowMs < this.#nextProbeMs)) return this.#local(key, rule, cost, nowMs);
    const probe = this.#degraded;
    if (probe) this.#probing = true;
    try {
      const decision = await this.#withTimeout(this.#primary.consume(key, rule, cost, nowMs));
      if (this.#degraded) this.#recovered(nowMs);
      return decision;
    } catch (error) {
      this.#failed(error, nowMs);
      return this.#local(key, rule, cost, nowMs);
    } finally {
      if (probe) this.#probing = false;
    }
  }

  #local(key: string, rule: RateLimitRule, cost: number, nowMs: number): Promise<RateLimitDecision> {
    this.#metrics.rateLimitFallbacks.inc({ store: this.#name });
    return this.#fallback.consume(key, rule, cost, nowMs);
  }

  #failed(error: unknown, nowMs: number): void {
    this.#nextProbeMs = nowMs + this.#probeIntervalMs;
    if (this.#degraded) return;
    this.#degraded = true;
    this.#degradedSinceMs = nowMs;
    this.#metrics.rateLimitStoreDegraded.set({ store: this.#name }, 1);
    this.#logger.warn(
      { store: this.#name, err: error, probeIntervalMs: this.#probeIntervalMs },
      `rate-limit store ${this.#name} unavailable: limiting per instance until it is back`,
    );
  }

  #recovered(nowMs: number): void {
    this.#degraded = false;
    this.#metrics.rateLimitStoreDegraded.set({ store: this.#name }, 0);
    this.#logger.info(
      { store: this.#name, outageMs: nowMs - this.#degradedSinceMs },
      `rate-limit store ${this.#name} is back: limits are shared again`,
    );
  }

  #withTimeout<T>(pending: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new RateLimitStoreTimeout(this.#timeoutMs)), this.#timeoutMs);
      pending.finally(() => clearTimeout(timer)).then(resolve, reject);
    });
  }
}
