import { CircuitState, circuitBreaker, handleWhen } from 'cockatiel';
import type { CircuitBreakerPolicy } from 'cockatiel';
import { CountWindowBreaker } from './count-window-breaker.ts';
import { circuitOpen, isDownstreamFault } from './downstream-faults.ts';
import type { BreakerSettings } from './downstream-settings.ts';
import type { StructuredLogger } from '@carshare/platform';
import { breakerStateValue } from './resilience-metrics.ts';
import type { ResilienceMetrics } from './resilience-metrics.ts';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreaker {
  /** Runs `attempt` unless the circuit is open; throws `Unavailable('CIRCUIT_OPEN')` when it is. */
  execute<T>(attempt: () => Promise<T>, signal: AbortSignal): Promise<T>;
  state(): BreakerState;
}

export interface CircuitBreakerDeps {
  metrics: ResilienceMetrics;
  logger: StructuredLogger;
}

function toBreakerState(state: CircuitState): BreakerState {
  switch (state) {
    case CircuitState.Closed:
      return 'closed';
    case CircuitState.HalfOpen:
      return 'half-open';
    case CircuitState.Open:
    case CircuitState.Isolated:
      return 'open';
    default:
      throw new Error(`unknown circuit state ${String(state)}`);
  }
}

/**
 * cockatiel's CircuitBreakerPolicy with our window, our error filter, metrics and logs.
 *
 * cockatiel reads `Date.now()` for the cooldown, so tests drive this breaker with node:test's
 * mocked Date rather than an injected Clock.
 */
export function createCircuitBreaker(downstream: string, settings: BreakerSettings, deps: CircuitBreakerDeps): CircuitBreaker {
  const policy: CircuitBreakerPolicy = circuitBreaker(handleWhen(isDownstreamFault), {
    breaker: new CountWindowBreaker(settings),
    halfOpenAfter: settings.cooldownMs,
  });
  const { metrics, logger } = deps;
  let current: BreakerState = 'closed';
  let openedAt = 0;
  metrics.breakerState.set({ downstream }, breakerStateValue.closed);

  policy.onStateChange((next) => {
    const to = toBreakerState(next);
    if (to === current) return;
    const from = current;
    current = to;
    if (to === 'open') openedAt = Date.now();
    metrics.breakerState.set({ downstream }, breakerStateValue[to]);
    metrics.breakerTransitions.inc({ downstream, from, to });
    const fields = { downstream, from, to };
    if (to === 'open') logger.warn({ ...fields, cooldownMs: settings.cooldownMs }, `circuit to ${downstream} opened`);
    else logger.info(fields, `circuit to ${downstream} ${to === 'closed' ? 'closed' : 'half-open, probing'}`);
  });

  return {
    execute(attempt, signal) {
      const state = policy.state;
      if (state !== CircuitState.Closed) {
        if (state === CircuitState.Open) {
          const retryAfterMs = openedAt + settings.cooldownMs - Date.now();
          // Fail fast here rather than letting cockatiel build its own error we would only map.
          if (retryAfterMs > 0) return Promise.reject(circuitOpen(downstream, retryAfterMs));
        } else {
          // Half-open with the probe in flight: cockatiel would park this call until the probe
          // ends, ignoring its deadline. Failing fast keeps the caller's budget.
          return Promise.reject(circuitOpen(downstream, 0));
        }
      }
      return policy.execute(attempt, signal);
    },
    state: () => toBreakerState(policy.state),
  };
}
