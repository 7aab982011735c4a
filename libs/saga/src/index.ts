export * from './define-saga.ts';
export * from './saga-log.ts';
export * from './saga-metrics.ts';
export * from './saga-runner.ts';
export * from './saga-tables.ts';
