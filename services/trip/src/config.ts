import { DatabaseConfig, HttpConfig, LogConfig, TracingConfig } from '@carshare/platform';
import { loadServiceConfig, type ServiceConfigShape } from '@carshare/service-kit';
import { Type, type Static } from 'typebox';

const defaultPort = 4006;

export const TripConfigSchema = Type.Object({
  http: HttpConfig(defaultPort),
  database: DatabaseConfig,
  log: LogConfig,
  tracing: TracingConfig,
});

export type TripConfig = Static<typeof TripConfigSchema>;

/** How the trip service's config is read: TRIP_HOST, TRIP_PORT, and the common variables. */
export const tripConfigShape = {
  envPrefix: 'TRIP',
  defaultPort,
  configSchema: TripConfigSchema,
  envMap: {},
} as const satisfies ServiceConfigShape<typeof TripConfigSchema>;

export function loadTripConfig(overrides: Record<string, unknown> = {}): TripConfig {
  return loadServiceConfig(tripConfigShape, overrides);
}
