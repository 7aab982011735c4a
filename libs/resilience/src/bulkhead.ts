import { bulkhead as cockatielBulkhead } from 'cockatiel';
import { bulkheadFull, deadlineExceeded } from './downstream-faults.ts';
import type { BulkheadSettings } from './downstream-settings.ts';
import type { ResilienceMetrics } from './resilience-metrics.ts';

export interface Bulkhead {
  /** Runs `attempt` in a slot, queues it, or throws `ResourceExhausted('BULKHEAD_FULL')` at once. */
  execute<T>(attempt: () => Promise<T>, signal: AbortSignal): Promise<T>;
  /** Calls running plus calls queued. */
  inFlight(): number;
}

export function createBulkhead(downstream: string, settings: BulkheadSettings, deps: { metrics: ResilienceMetrics }): Bulkhead {
  const policy = cockatielBulkhead(settings.maxConcurrent, settings.maxQueued);
  const { metrics } = deps;

  // cockatiel looks at a queued call's signal only when a slot frees up, so a queued call would
  // outlive its deadline. Only queued calls pay for the abort listener; running ones do not.
  function waitInQueue<T>(queued: Promise<T>, signal: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(deadlineExceeded(downstream, signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      queued.finally(() => signal.removeEventListener('abort', onAbort)).then(resolve, reject);
    });
  }

  return {
    execute(attempt, signal) {
      if (policy.executionSlots > 0) return policy.execute(attempt, signal);
      if (policy.queueSlots <= 0) {
        metrics.bulkheadRejections.inc({ downstream });
        return Promise.reject(bulkheadFull(downstream, settings));
      }
      return waitInQueue(policy.execute(attempt, signal), signal);
    },
    inFlight: () => settings.maxConcurrent - policy.executionSlots + settings.maxQueued - policy.queueSlots,
  };
}
