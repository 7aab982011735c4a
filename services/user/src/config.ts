import { DatabaseConfig, HttpConfig, LogConfig, MessagingConfig, TracingConfig } from '@carshare/platform';
import { loadServiceConfig, type ServiceConfigShape } from '@carshare/service-kit';
import { Type, type Static } from 'typebox';

const defaultPort = 4001;

export const UserConfigSchema = Type.Object({
  http: HttpConfig(defaultPort),
  database: DatabaseConfig,
  messaging: MessagingConfig,
  log: LogConfig,
  tracing: TracingConfig,
  auth: Type.Object({
    accessTokenTtlSeconds: Type.Integer({ minimum: 60, maximum: 3600, default: 900 }),
    refreshTokenTtlDays: Type.Integer({ minimum: 1, maximum: 365, default: 30 }),
    keyReloadIntervalMs: Type.Integer({ minimum: 1000, default: 60_000 }),
    /**
     * Key-encryption key for the private signing keys at rest: 32 random bytes in base64url
     * (`openssl rand 32 | basenc --base64url | tr -d =`). Unset: keys are stored in the clear.
     */
    keyEncryptionKey: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' })),
  }),
  /**
   * GetUser's read cache (ADR 0008). Writes made by this instance show at once; another
   * instance's writes show within `ttlMs`. 0 turns it off.
   */
  userCache: Type.Object({
    ttlMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 5_000 }),
    maxEntries: Type.Integer({ minimum: 1, default: 50_000 }),
  }),
});

export type UserConfig = Static<typeof UserConfigSchema>;

/** How the user service's config is read: USER_HOST and USER_PORT come with the prefix. */
export const userConfigShape = {
  envPrefix: 'USER',
  defaultPort,
  configSchema: UserConfigSchema,
  envMap: {
    USER_ACCESS_TOKEN_TTL_SECONDS: 'auth.accessTokenTtlSeconds',
    USER_REFRESH_TOKEN_TTL_DAYS: 'auth.refreshTokenTtlDays',
    USER_CACHE_TTL_MS: 'userCache.ttlMs',
    USER_KEY_ENCRYPTION_KEY: 'auth.keyEncryptionKey',
  },
} as const satisfies ServiceConfigShape<typeof UserConfigSchema>;

export function loadUserConfig(overrides: Record<string, unknown> = {}): UserConfig {
  return loadServiceConfig(userConfigShape, overrides);
}
