import type { LevelWithSilent } from 'pino';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, type ServiceMetrics } from './metrics.ts';
import { createTracing, type Tracing } from './tracing.ts';

export interface ObservabilityOptions {
  service: string;
  logLevel: LevelWithSilent;
  prettyLogs: boolean;
  otlpEndpoint?: string;
  sampleRatio: number;
  processMetrics: boolean;
  logDestination?: NodeJS.WritableStream;
}

/** What every module gets at composition: its own logger, metrics registry and tracer. */
export interface Observability {
  service: string;
  logger: Logger;
  metrics: ServiceMetrics;
  tracing: Tracing;
  shutdown(): Promise<void>;
}

export function createObservability(options: ObservabilityOptions): Observability {
  const logger = createLogger({
    service: options.service,
    level: options.logLevel,
    pretty: options.prettyLogs,
    destination: options.logDestination,
  });
  const metrics = createMetrics({ service: options.service, processMetrics: options.processMetrics });
  const tracing = createTracing({
    service: options.service,
    otlpEndpoint: options.otlpEndpoint,
    sampleRatio: options.sampleRatio,
  });
  return {
    service: options.service,
    logger,
    metrics,
    tracing,
    async shutdown() {
      await tracing.shutdown();
      logger.flush();
    },
  };
}
