import { backoffDelay, backoffPolicy, type Clock } from '@carshare/platform';
import { abortableDelay } from './abortable-delay.ts';
import { deadlineExceeded, isRetryable, toDownstreamError } from './downstream-faults.ts';
import type { RetrySettings } from './downstream-settings.ts';
import type { ResilienceMetrics } from './resilience-metrics.ts';
import type { RetryBudget } from './retry-budget.ts';

export interface CallOptions {
  /** Only idempotent methods are retried: a retried write may apply twice. */
  idempotent: boolean;
  /** Carries the caller's deadline; aborting it ends the call and any backoff at once. */
  signal: AbortSignal;
  /** Epoch ms. No backoff is started that would end at or after it. */
  deadline: number;
}

export interface RetryPolicy {
  execute<T>(attempt: () => Promise<T>, options: CallOptions): Promise<T>;
}

export interface RetryPolicyDeps {
  metrics: ResilienceMetrics;
  budget: RetryBudget;
  clock: Clock;
  random: () => number;
  /** True while the breaker would reject a retry anyway: give up now with the real error. */
  circuitOpen: () => boolean;
}

/**
 * Our own retry loop rather than cockatiel's RetryPolicy: before each backoff it must ask two
 * questions cockatiel cannot be told to ask (does the delay end before the deadline, is there
 * budget left) and give up with the *last downstream error* when the answer is no.
 */
export function createRetryPolicy(downstream: string, settings: RetrySettings, deps: RetryPolicyDeps): RetryPolicy {
  const { metrics, budget, clock, random, circuitOpen } = deps;
  // The platform's one formula with "equal jitter": each delay is at least half its exponential
  // value, so a retry never comes back at once, and the other half is random, so callers that
  // failed together spread out.
  const backoff = backoffPolicy({ initialMs: settings.baseDelayMs, maxMs: settings.maxDelayMs, factor: 2, jitter: 0.5 });

  async function retryAfterFailure<T>(attempt: () => Promise<T>, options: CallOptions, firstError: unknown): Promise<T> {
    const { signal } = options;
    let error = toDownstreamError(firstError, downstream, signal);
    for (let attempts = 1; ; attempts++) {
      if (!options.idempotent || attempts >= settings.maxAttempts || signal.aborted || !isRetryable(error)) throw error;
      if (circuitOpen()) throw error;
      const delayMs = backoffDelay(attempts, backoff, random);
      if (clock.now() + delayMs >= options.deadline) throw error;
      if (!budget.tryAcquireRetry()) {
        metrics.retryBudgetExhausted.inc({ downstream });
        throw error;
      }
      metrics.retries.inc({ downstream });
      try {
        await abortableDelay(delayMs, signal);
      } catch {
        throw deadlineExceeded(downstream, error);
      }
      try {
        return await attempt();
      } catch (next) {
        error = toDownstreamError(next, downstream, signal);
      }
    }
  }

  return {
    async execute(attempt, options) {
      budget.recordCall();
      try {
        return await attempt();
      } catch (error) {
        return retryAfterFailure(attempt, options, error);
      }
    },
  };
}
