export * from './telemetry-names.ts';
export * from './logger.ts';
export * from './metrics.ts';
export * from './tracing.ts';
export * from './observability.ts';
