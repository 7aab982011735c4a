import { DatabaseConfig, HttpConfig, LogConfig, MessagingConfig, TracingConfig } from '@carshare/platform';
import { loadServiceConfig, type ServiceConfigShape } from '@carshare/service-kit';
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import type { AccountSecuritySettings } from './ports.ts';

const defaultPort = 4001;

const minute = 60_000;
const hour = 60 * minute;

/** One back-off rule (domain/attempt-backoff.ts) with its defaults. */
const Backoff = (freeFailures: number, baseDelayMs: number, maxDelayMs: number, forgetAfterMs: number) =>
  Type.Object(
    {
      freeFailures: Type.Integer({ minimum: 0, default: freeFailures }),
      baseDelayMs: Type.Integer({ minimum: 1, default: baseDelayMs }),
      maxDelayMs: Type.Integer({ minimum: 1, default: maxDelayMs }),
      forgetAfterMs: Type.Integer({ minimum: 1, default: forgetAfterMs }),
    },
    { default: {} },
  );

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
   * Login throttling inside the service (ADR 0017), so that no path around the gateway skips it.
   * An anonymous client gets 3 free failures per account, then waits 1 s, 2 s, 4 s … up to 15 min
   * between guesses; a device that logged in before has its own count, untouched by strangers.
   */
  throttle: Type.Object(
    {
      account: Backoff(3, 1_000, 15 * minute, 24 * hour),
      device: Backoff(5, 1_000, 15 * minute, 24 * hour),
      ip: Backoff(20, 1_000, 15 * minute, hour),
      global: Backoff(1_000, 100, 10_000, minute),
      signupPerIp: Backoff(10, minute, hour, 24 * hour),
      resetPerAccount: Backoff(3, minute, hour, 24 * hour),
    },
    { default: {} },
  ),
  mail: Type.Object(
    {
      /** `smtp://user:pass@host:port` (or `smtps://`); unset: mail stays in the local outbox (`carshare mail list`). */
      smtpUrl: Type.Optional(Type.String({ pattern: '^smtps?://' })),
      from: Type.String({ default: 'carshare <no-reply@carshare.local>' }),
      /** Where links in mails point (the rider web app). */
      linkBaseUrl: Type.String({ default: 'http://localhost:8080' }),
      verifyEmailTokenTtlMs: Type.Integer({ minimum: minute, default: 48 * hour }),
      resetTokenTtlMs: Type.Integer({ minimum: minute, maximum: 24 * hour, default: hour }),
      /** How often the relay looks for unsent mail when SMTP is configured. */
      relayIntervalMs: Type.Integer({ minimum: 100, default: 2_000 }),
    },
    { default: {} },
  ),
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
    SMTP_URL: 'mail.smtpUrl',
    MAIL_FROM: 'mail.from',
    USER_LINK_BASE_URL: 'mail.linkBaseUrl',
  },
} as const satisfies ServiceConfigShape<typeof UserConfigSchema>;

export function loadUserConfig(overrides: Record<string, unknown> = {}): UserConfig {
  return loadServiceConfig(userConfigShape, overrides);
}

/** What the use cases need of the config above. */
export function accountSecurityOf(config: Pick<UserConfig, 'throttle' | 'mail'>): AccountSecuritySettings {
  return {
    throttle: config.throttle,
    verifyEmailTokenTtlMs: config.mail.verifyEmailTokenTtlMs,
    resetTokenTtlMs: config.mail.resetTokenTtlMs,
    linkBaseUrl: config.mail.linkBaseUrl,
  };
}

/** The defaults, for tests of the use cases. */
export function defaultAccountSecurity(): AccountSecuritySettings {
  return accountSecurityOf({
    throttle: Value.Default(UserConfigSchema.properties.throttle, {}) as UserConfig['throttle'],
    mail: Value.Default(UserConfigSchema.properties.mail, {}) as UserConfig['mail'],
  });
}
