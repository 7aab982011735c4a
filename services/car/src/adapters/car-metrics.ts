import { metricNames } from '@carshare/observability';
import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * The car service's own series, named in the platform's registry (telemetry-names.ts) like every
 * other metric, so dashboards and alerts find them there and a rename is one line.
 */
export const carMetricNames = metricNames.car;

export interface CarMetrics {
  telemetry(result: string): void;
  refused(reason: string): void;
  ignoredAck(why: string): void;
  flushFailed(): void;
  /** Reads the live count at scrape time. */
  watchConnectedDevices(read: () => number): void;
}

function existing<T>(registry: Registry, name: string): T | undefined {
  return registry.getSingleMetric(name) as T | undefined;
}

export function carMetrics(registry: Registry): CarMetrics {
  const reports =
    existing<Counter<'result'>>(registry, carMetricNames.telemetryReports) ??
    new Counter({ name: carMetricNames.telemetryReports, help: 'Telemetry reports by result: accepted, or the reason they were rejected', labelNames: ['result'], registers: [registry] });
  const refusals =
    existing<Counter<'reason'>>(registry, carMetricNames.deviceRefusals) ??
    new Counter({ name: carMetricNames.deviceRefusals, help: 'Device connections, publishes and subscribes the gateway refused, by reason', labelNames: ['reason'], registers: [registry] });
  const ignored =
    existing<Counter<'why'>>(registry, carMetricNames.ignoredAcks) ??
    new Counter({ name: carMetricNames.ignoredAcks, help: 'Command acks ignored: late (after the deadline) or for an unknown or settled command', labelNames: ['why'], registers: [registry] });
  const flushFailures =
    existing<Counter>(registry, carMetricNames.telemetryFlushFailures) ??
    new Counter({ name: carMetricNames.telemetryFlushFailures, help: 'Telemetry batches that could not be written (their positions are superseded by the next reports)', registers: [registry] });
  let readConnected: () => number = () => 0;
  if (!existing(registry, carMetricNames.connectedDevices)) {
    new Gauge({
      name: carMetricNames.connectedDevices,
      help: 'Devices connected to this instance over MQTT',
      registers: [registry],
      collect() {
        this.set(readConnected());
      },
    });
  }
  return {
    telemetry: (result) => reports.inc({ result }),
    refused: (reason) => refusals.inc({ reason }),
    ignoredAck: (why) => ignored.inc({ why }),
    flushFailed: () => flushFailures.inc(),
    watchConnectedDevices(read) {
      readConnected = read;
    },
  };
}
