import { metricNames } from '@carshare/observability';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Metric names of this library, from the one registry of names (telemetry-names.ts). */
export const messagingMetricNames = metricNames.messaging;

type Labels<Name extends string> = Partial<Record<Name, string | number>>;

export interface ConsumerMetrics {
  observe(group: string, outcome: 'ok' | 'retry' | 'dead_letter', seconds: number): void;
}

export const noConsumerMetrics: ConsumerMetrics = { observe: () => {} };

function existing<T>(registry: Registry, name: string): T | undefined {
  return registry.getSingleMetric(name) as T | undefined;
}

/** Several buses may share a registry (embedded topology): the first one registers each metric. */
export function consumerMetrics(registry: Registry | undefined): ConsumerMetrics {
  if (!registry) return noConsumerMetrics;
  const consumed =
    existing<Counter<'group' | 'outcome'>>(registry, messagingMetricNames.consumed) ??
    new Counter({
      name: messagingMetricNames.consumed,
      help: 'Event deliveries handled, by consumer group and outcome (ok, retry, dead_letter)',
      labelNames: ['group', 'outcome'],
      registers: [registry],
    });
  const duration =
    existing<Histogram<'group'>>(registry, messagingMetricNames.consumeDuration) ??
    new Histogram({
      name: messagingMetricNames.consumeDuration,
      help: 'Time a consumer group spent handling one delivery',
      labelNames: ['group'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
  return {
    observe(group, outcome, seconds) {
      consumed.inc({ group, outcome });
      duration.observe({ group }, seconds);
    },
  };
}

export function publishedCounter(registry: Registry | undefined): { inc(family: string, count: number): void } {
  if (!registry) return { inc: () => {} };
  const counter =
    existing<Counter<'family'>>(registry, messagingMetricNames.published) ??
    new Counter({
      name: messagingMetricNames.published,
      help: 'Events accepted by the bus, by family',
      labelNames: ['family'],
      registers: [registry],
    });
  return { inc: (family, count) => counter.inc({ family }, count) };
}

export function counterOf<Name extends string>(registry: Registry, name: string, help: string, labelNames: readonly Name[]): Counter<Name> {
  return existing<Counter<Name>>(registry, name) ?? new Counter({ name, help, labelNames, registers: [registry] });
}

export function histogramOf<Name extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly Name[],
  buckets: number[],
): Histogram<Name> {
  return existing<Histogram<Name>>(registry, name) ?? new Histogram({ name, help, labelNames, buckets, registers: [registry] });
}

export type GaugeSource<Name extends string> = () => Promise<Array<{ labels: Labels<Name>; value: number }>>;

const gaugeSources = new WeakMap<Registry, Map<string, Set<GaugeSource<string>>>>();

/**
 * A gauge read at scrape time from every registered source (e.g. one dead-letter table per
 * service in the embedded topology). Returns the function that unregisters the source.
 */
export function registerGaugeSource<Name extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly Name[],
  source: GaugeSource<Name>,
): () => void {
  let byName = gaugeSources.get(registry);
  if (!byName) {
    byName = new Map();
    gaugeSources.set(registry, byName);
  }
  let sources = byName.get(name);
  if (!sources) {
    const registered = new Set<GaugeSource<string>>();
    sources = registered;
    byName.set(name, registered);
    if (!registry.getSingleMetric(name)) {
      new Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        async collect() {
          this.reset();
          const readings = await Promise.all([...registered].map((read) => read().catch(() => [])));
          for (const reading of readings.flat()) this.set(reading.labels as Labels<Name>, reading.value);
        },
      });
    }
  }
  const added = source as GaugeSource<string>;
  sources.add(added);
  return () => {
    sources.delete(added);
  };
}
