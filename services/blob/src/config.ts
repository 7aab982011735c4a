import { DatabaseConfig, HttpConfig, LogConfig, TracingConfig } from '@carshare/platform';
import { loadServiceConfig, type ServiceConfigShape } from '@carshare/service-kit';
import { Type, type Static } from 'typebox';

const defaultPort = 4003;

export const BlobConfigSchema = Type.Object({
  http: HttpConfig(defaultPort),
  database: DatabaseConfig,
  log: LogConfig,
  tracing: TracingConfig,
});

export type BlobConfig = Static<typeof BlobConfigSchema>;

/** How the blob service's config is read: BLOB_HOST, BLOB_PORT, and the common variables. */
export const blobConfigShape = {
  envPrefix: 'BLOB',
  defaultPort,
  configSchema: BlobConfigSchema,
  envMap: {},
} as const satisfies ServiceConfigShape<typeof BlobConfigSchema>;

export function loadBlobConfig(overrides: Record<string, unknown> = {}): BlobConfig {
  return loadServiceConfig(blobConfigShape, overrides);
}
