import { metricNames } from '@carshare/observability';
import { Counter, type Registry } from 'prom-client';

/** Metric names of this library, from the one registry of names (telemetry-names.ts). */
export const sagaMetricNames = metricNames.saga;

export type SagaOutcomeStatus = 'completed' | 'compensated' | 'failed';

export interface SagaMetrics {
  started(saga: string): void;
  finished(saga: string, outcome: SagaOutcomeStatus): void;
  compensationRetried(saga: string): void;
}

export const noSagaMetrics: SagaMetrics = { started: () => {}, finished: () => {}, compensationRetried: () => {} };

function counterOf<Name extends string>(registry: Registry, name: string, help: string, labelNames: readonly Name[]): Counter<Name> {
  // Several services share one registry in the embedded topology: the first one registers.
  return (registry.getSingleMetric(name) as Counter<Name> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
}

export function sagaMetrics(registry: Registry | undefined): SagaMetrics {
  if (!registry) return noSagaMetrics;
  const started = counterOf(registry, sagaMetricNames.started, 'Sagas started, by saga name', ['saga']);
  const finished = counterOf(
    registry,
    sagaMetricNames.finished,
    'Sagas that reached an end, by saga name and outcome (completed, compensated, failed: needs an operator)',
    ['saga', 'outcome'],
  );
  const retries = counterOf(registry, sagaMetricNames.compensationRetries, 'Compensation attempts that failed and will be retried', ['saga']);
  return {
    started: (saga) => started.inc({ saga }),
    finished: (saga, outcome) => finished.inc({ saga, outcome }),
    compensationRetried: (saga) => retries.inc({ saga }),
  };
}
