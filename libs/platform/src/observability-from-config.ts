import { createObservability, type Observability } from '@carshare/observability';
import type { Static } from 'typebox';
import type { LogConfig, TracingConfig } from './common-config.ts';

export interface ObservabilityConfig {
  log: Static<typeof LogConfig>;
  tracing: Static<typeof TracingConfig>;
}

export function observabilityFromConfig(
  service: string,
  config: ObservabilityConfig,
  options: { processMetrics: boolean; logDestination?: NodeJS.WritableStream },
): Observability {
  return createObservability({
    service,
    logLevel: config.log.level,
    prettyLogs: config.log.pretty ?? Boolean(process.stdout.isTTY),
    otlpEndpoint: config.tracing.otlpEndpoint,
    sampleRatio: config.tracing.sampleRatio,
    processMetrics: options.processMetrics,
    logDestination: options.logDestination,
  });
}
