import { DatabaseConfig, HttpConfig, LogConfig, TracingConfig } from '@carshare/platform';
import { loadServiceConfig, type ServiceConfigShape } from '@carshare/service-kit';
import { Type, type Static } from 'typebox';

const defaultPort = 4004;

export const ProfileConfigSchema = Type.Object({
  http: HttpConfig(defaultPort),
  database: DatabaseConfig,
  log: LogConfig,
  tracing: TracingConfig,
});

export type ProfileConfig = Static<typeof ProfileConfigSchema>;

/** How the profile service's config is read: PROFILE_HOST, PROFILE_PORT, and the common variables. */
export const profileConfigShape = {
  envPrefix: 'PROFILE',
  defaultPort,
  configSchema: ProfileConfigSchema,
  envMap: {},
} as const satisfies ServiceConfigShape<typeof ProfileConfigSchema>;

export function loadProfileConfig(overrides: Record<string, unknown> = {}): ProfileConfig {
  return loadServiceConfig(profileConfigShape, overrides);
}
