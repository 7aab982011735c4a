import { DatabaseConfig, HttpConfig, LogConfig, TracingConfig } from '@carshare/platform';
import { loadServiceConfig, type ServiceConfigShape } from '@carshare/service-kit';
import { Type, type Static } from 'typebox';

const defaultPort = 4002;

export const CarConfigSchema = Type.Object({
  http: HttpConfig(defaultPort),
  database: DatabaseConfig,
  log: LogConfig,
  tracing: TracingConfig,
});

export type CarConfig = Static<typeof CarConfigSchema>;

/** How the car service's config is read: CAR_HOST, CAR_PORT, and the common variables. */
export const carConfigShape = {
  envPrefix: 'CAR',
  defaultPort,
  configSchema: CarConfigSchema,
  envMap: {},
} as const satisfies ServiceConfigShape<typeof CarConfigSchema>;

export function loadCarConfig(overrides: Record<string, unknown> = {}): CarConfig {
  return loadServiceConfig(carConfigShape, overrides);
}
