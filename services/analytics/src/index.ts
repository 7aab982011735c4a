export * from './module.ts';
export * from './config.ts';
export * from './descriptor.ts';
export type { AnalyticsService } from './analytics-service.ts';
