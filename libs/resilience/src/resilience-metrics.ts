import { metricNames } from '@carshare/observability';
import { Counter, Gauge, Registry } from 'prom-client';

export interface ResilienceMetrics {
  breakerState: Gauge<'downstream'>;
  breakerTransitions: Counter<'downstream' | 'from' | 'to'>;
  retries: Counter<'downstream'>;
  retryBudgetExhausted: Counter<'downstream'>;
  bulkheadRejections: Counter<'downstream'>;
  rateLimitFallbacks: Counter<'store'>;
  rateLimitStoreDegraded: Gauge<'store'>;
  faultSwitchPercent: Gauge<'fault'>;
}

/** Numeric encoding of `carshare_breaker_state`, fixed so dashboards can map it. */
export const breakerStateValue = { closed: 0, open: 1, 'half-open': 2 } as const;

// prom-client refuses to register a name twice, and every downstream policy of a process shares
// one registry: the metric objects are made once per registry and labelled per downstream.
const byRegistry = new WeakMap<Registry, ResilienceMetrics>();

export function resilienceMetrics(registry: Registry = new Registry()): ResilienceMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const names = metricNames.resilience;
  const metrics: ResilienceMetrics = {
    breakerState: new Gauge({
      name: names.breakerState,
      help: 'Circuit breaker state per downstream: 0 closed, 1 open, 2 half-open',
      labelNames: ['downstream'],
      registers,
    }),
    breakerTransitions: new Counter({
      name: names.breakerTransitions,
      help: 'Circuit breaker state changes per downstream',
      labelNames: ['downstream', 'from', 'to'],
      registers,
    }),
    retries: new Counter({
      name: names.retries,
      help: 'Retries sent to a downstream (first attempts not counted)',
      labelNames: ['downstream'],
      registers,
    }),
    retryBudgetExhausted: new Counter({
      name: names.retryBudgetExhausted,
      help: 'Retries not sent because the retry budget of the downstream was spent',
      labelNames: ['downstream'],
      registers,
    }),
    bulkheadRejections: new Counter({
      name: names.bulkheadRejections,
      help: 'Calls rejected because the bulkhead of the downstream was full',
      labelNames: ['downstream'],
      registers,
    }),
    rateLimitFallbacks: new Counter({
      name: names.rateLimitFallbacks,
      help: 'Rate-limit decisions taken by the local fallback because the shared store failed or was slow',
      labelNames: ['store'],
      registers,
    }),
    rateLimitStoreDegraded: new Gauge({
      name: names.rateLimitStoreDegraded,
      help: '1 while the shared rate-limit store is unreachable and decisions are local',
      labelNames: ['store'],
      registers,
    }),
    faultSwitchPercent: new Gauge({
      name: names.faultSwitchPercent,
      help: 'Current percentage of each injected fault (0 = off)',
      labelNames: ['fault'],
      registers,
    }),
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
