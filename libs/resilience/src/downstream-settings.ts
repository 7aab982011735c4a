export interface BreakerSettings {
  /** Size of the count-based sliding window (last N calls that reached the downstream). */
  windowSize: number;
  /** The breaker never opens before this many calls are in the window. */
  minimumCalls: number;
  /** Opens when failures × 100 ≥ failureRatePercent × calls in the window. Integer, 1–100. */
  failureRatePercent: number;
  /** Time an open breaker fails fast before letting one probe through. */
  cooldownMs: number;
}

export interface RetrySettings {
  /** Attempts including the first one; 1 disables retries. */
  maxAttempts: number;
  /** Decorrelated jitter: first delay is drawn from [base, 3 × base], later ones from [base, 3 × previous]. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Retries allowed as a percentage of calls over the budget window. */
  budgetPercent: number;
  /** Floor of the budget for callers with little traffic, per second of the window. */
  budgetMinRetriesPerSecond: number;
  budgetWindowMs: number;
}

export interface BulkheadSettings {
  maxConcurrent: number;
  maxQueued: number;
}

export interface DownstreamSettings {
  breaker: BreakerSettings;
  retry: RetrySettings;
  bulkhead: BulkheadSettings;
}

export type DownstreamSettingsOverrides = {
  [Part in keyof DownstreamSettings]?: Partial<DownstreamSettings[Part]>;
};

// Sized for one gateway/service instance on a 2-core box: ~11k RPC/s at ~0.13 ms each needs a
// handful of calls in flight, so 64 concurrent leaves room for slow downstreams before shedding.
export const defaultDownstreamSettings: DownstreamSettings = Object.freeze({
  breaker: Object.freeze({ windowSize: 20, minimumCalls: 10, failureRatePercent: 50, cooldownMs: 5_000 }),
  retry: Object.freeze({
    maxAttempts: 3,
    baseDelayMs: 20,
    maxDelayMs: 500,
    budgetPercent: 20,
    budgetMinRetriesPerSecond: 1,
    budgetWindowMs: 10_000,
  }),
  bulkhead: Object.freeze({ maxConcurrent: 64, maxQueued: 128 }),
});

function requireInteger(path: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`resilience setting ${path} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

/** Defaults, then the overrides; validated once at composition so a typo fails at start. */
export function resolveDownstreamSettings(overrides: DownstreamSettingsOverrides = {}): DownstreamSettings {
  const settings: DownstreamSettings = {
    breaker: { ...defaultDownstreamSettings.breaker, ...overrides.breaker },
    retry: { ...defaultDownstreamSettings.retry, ...overrides.retry },
    bulkhead: { ...defaultDownstreamSettings.bulkhead, ...overrides.bulkhead },
  };
  const { breaker, retry, bulkhead } = settings;
  requireInteger('breaker.windowSize', breaker.windowSize, 1);
  requireInteger('breaker.minimumCalls', breaker.minimumCalls, 1, breaker.windowSize);
  requireInteger('breaker.failureRatePercent', breaker.failureRatePercent, 1, 100);
  requireInteger('breaker.cooldownMs', breaker.cooldownMs, 1);
  requireInteger('retry.maxAttempts', retry.maxAttempts, 1);
  requireInteger('retry.baseDelayMs', retry.baseDelayMs, 1);
  requireInteger('retry.maxDelayMs', retry.maxDelayMs, retry.baseDelayMs);
  requireInteger('retry.budgetPercent', retry.budgetPercent, 0, 100);
  requireInteger('retry.budgetMinRetriesPerSecond', retry.budgetMinRetriesPerSecond, 0);
  requireInteger('retry.budgetWindowMs', retry.budgetWindowMs, 1_000);
  requireInteger('bulkhead.maxConcurrent', bulkhead.maxConcurrent, 1);
  requireInteger('bulkhead.maxQueued', bulkhead.maxQueued, 0);
  return settings;
}
