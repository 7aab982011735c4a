import { silentLogger, type StructuredLogger, systemClock } from '@carshare/platform';
import type { Registry } from 'prom-client';
import { createBulkhead } from './bulkhead.ts';
import { createCircuitBreaker } from './circuit-breaker.ts';
import type { BreakerState } from './circuit-breaker.ts';
import { deadlineExceeded } from './downstream-faults.ts';
import { resolveDownstreamSettings } from './downstream-settings.ts';
import type { DownstreamSettings, DownstreamSettingsOverrides } from './downstream-settings.ts';
import { resilienceMetrics } from './resilience-metrics.ts';
import { RetryBudget } from './retry-budget.ts';
import { createRetryPolicy } from './retry-policy.ts';
import type { CallOptions } from './retry-policy.ts';

export interface DownstreamPolicy {
  readonly name: string;
  readonly settings: DownstreamSettings;
  /**
   * Runs `call` through retry → bulkhead → circuit breaker. `call` must honour the signal it is
   * given (undici does): the policy adds no timer of its own on the success path.
   */
  execute<T>(call: (signal: AbortSignal) => Promise<T>, options: CallOptions): Promise<T>;
  state(): BreakerState;
}

export interface DownstreamPolicyDeps {
  /** Where the breaker, retry and bulkhead metrics go; a private registry when omitted. */
  registry?: Registry;
  logger?: StructuredLogger;
  /** Source of jitter; tests pass a fixed one. */
  random?: () => number;
}

/**
 * The client-side policy stack for one downstream service, built when modules are composed
 * (DESIGN rule 9). Order, outermost first:
 *   deadline check → retry (idempotent only, budgeted) → bulkhead → circuit breaker → call
 * The breaker sits inside the bulkhead so that a probe, once admitted, is never rejected by the
 * bulkhead (cockatiel would count that rejection as a successful probe); backoff sleeps happen
 * outside the bulkhead so a waiting retry holds no slot.
 */
export function createDownstreamPolicy(
  name: string,
  settings: DownstreamSettingsOverrides = {},
  deps: DownstreamPolicyDeps = {},
): DownstreamPolicy {
  const resolved = resolveDownstreamSettings(settings);
  const metrics = resilienceMetrics(deps.registry);
  const logger = deps.logger ?? silentLogger;
  const breaker = createCircuitBreaker(name, resolved.breaker, { metrics, logger });
  const bulkhead = createBulkhead(name, resolved.bulkhead, { metrics });
  const retry = createRetryPolicy(name, resolved.retry, {
    metrics,
    budget: new RetryBudget(resolved.retry, systemClock),
    clock: systemClock,
    random: deps.random ?? Math.random,
    circuitOpen: () => breaker.state() !== 'closed',
  });

  return {
    name,
    settings: resolved,
    execute(call, options) {
      const signal = options.signal;
      if (signal.aborted || systemClock.now() >= options.deadline) return Promise.reject(deadlineExceeded(name));
      return retry.execute(() => bulkhead.execute(() => breaker.execute(() => call(signal), signal), signal), options);
    },
    state: () => breaker.state(),
  };
}
