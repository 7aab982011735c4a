import { DatabaseConfig, HttpConfig, LogConfig, TracingConfig } from '@carshare/platform';
import { loadServiceConfig, type ServiceConfigShape } from '@carshare/service-kit';
import { Type, type Static } from 'typebox';

const defaultPort = 4007;

export const AnalyticsConfigSchema = Type.Object({
  http: HttpConfig(defaultPort),
  database: DatabaseConfig,
  log: LogConfig,
  tracing: TracingConfig,
});

export type AnalyticsConfig = Static<typeof AnalyticsConfigSchema>;

/** How the analytics service's config is read: ANALYTICS_HOST, ANALYTICS_PORT, and the common variables. */
export const analyticsConfigShape = {
  envPrefix: 'ANALYTICS',
  defaultPort,
  configSchema: AnalyticsConfigSchema,
  envMap: {},
} as const satisfies ServiceConfigShape<typeof AnalyticsConfigSchema>;

export function loadAnalyticsConfig(overrides: Record<string, unknown> = {}): AnalyticsConfig {
  return loadServiceConfig(analyticsConfigShape, overrides);
}
