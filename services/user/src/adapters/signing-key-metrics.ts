import { metricNames } from '@carshare/observability';
import { Counter, Gauge, type Registry } from 'prom-client';

/** Metric names of the signing-key reload, from the one registry of names (telemetry-names.ts). */
export const signingKeyMetricNames = metricNames.signingKeys;

export interface SigningKeyMetrics {
  reloaded(atMs: number): void;
  reloadFailed(): void;
}

/**
 * An instance whose reloads keep failing signs with whatever key it loaded last, which may have
 * been retired elsewhere: alert on `time() - carshare_signing_key_last_reload_timestamp_seconds`
 * growing past a few reload intervals, or on the failure counter rising.
 */
export function signingKeyMetrics(registry: Registry): SigningKeyMetrics {
  // Two signers on one registry (tests, or two modules sharing one) share the series.
  const failures =
    (registry.getSingleMetric(signingKeyMetricNames.reloadFailures) as Counter | undefined) ??
    new Counter({
      name: signingKeyMetricNames.reloadFailures,
      help: 'Periodic signing-key reloads that failed (this instance keeps its last loaded keys)',
      registers: [registry],
    });
  const lastReload =
    (registry.getSingleMetric(signingKeyMetricNames.lastReload) as Gauge | undefined) ??
    new Gauge({
      name: signingKeyMetricNames.lastReload,
      help: 'When signing keys were last loaded successfully (seconds since the epoch)',
      registers: [registry],
    });
  return {
    reloaded: (atMs) => lastReload.set(atMs / 1000),
    reloadFailed: () => failures.inc(),
  };
}
