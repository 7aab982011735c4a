import { DatabaseConfig, HttpConfig, LogConfig, MessagingConfig, TracingConfig } from '@carshare/platform';
import { loadServiceConfig, type ServiceConfigShape } from '@carshare/service-kit';
import { Type, type Static } from 'typebox';

const defaultPort = 4004;

export const ProfileConfigSchema = Type.Object({
  http: HttpConfig(defaultPort),
  database: DatabaseConfig,
  messaging: MessagingConfig,
  log: LogConfig,
  tracing: TracingConfig,
  /** The auto-verification rule: an adult, and a licence still valid this many days from today. */
  verification: Type.Object({
    minimumValidityDays: Type.Integer({ minimum: 0, maximum: 3650, default: 30 }),
    minimumAge: Type.Integer({ minimum: 16, maximum: 99, default: 18 }),
  }),
  ocr: Type.Object({
    /** `tesseract` reads photos for real; `simulated` is for fault drills (latency, failure rate). */
    provider: Type.Union([Type.Literal('tesseract'), Type.Literal('simulated')], { default: 'tesseract' }),
    /** Whether this instance reads photos: off for instances that only serve RPCs (and in tests that drain by hand). */
    worker: Type.Boolean({ default: true }),
    timeoutMs: Type.Integer({ minimum: 100, maximum: 300_000, default: 30_000 }),
    pollIntervalMs: Type.Integer({ minimum: 10, default: 2_000 }),
    batchSize: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
    retryBaseMs: Type.Integer({ minimum: 10, default: 5_000 }),
    retryMaxMs: Type.Integer({ minimum: 10, default: 300_000 }),
    /** The breaker around the provider: opens at this failure share of the last reads. */
    breaker: Type.Object({
      windowSize: Type.Integer({ minimum: 1, default: 10 }),
      minimumCalls: Type.Integer({ minimum: 1, default: 5 }),
      failureRatePercent: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
      cooldownMs: Type.Integer({ minimum: 1, default: 30_000 }),
    }),
    simulated: Type.Object({
      latencyMs: Type.Integer({ minimum: 0, default: 200 }),
      failurePercent: Type.Number({ minimum: 0, maximum: 100, default: 0 }),
    }),
  }),
  /** How often verified profiles are checked for expired licences. */
  expirySweep: Type.Object({ intervalMs: Type.Integer({ minimum: 1_000, default: 3_600_000 }) }),
});

export type ProfileConfig = Static<typeof ProfileConfigSchema>;

/** How the profile service's config is read: PROFILE_HOST, PROFILE_PORT, the common variables and these. */
export const profileConfigShape = {
  envPrefix: 'PROFILE',
  defaultPort,
  configSchema: ProfileConfigSchema,
  envMap: {
    PROFILE_OCR_PROVIDER: 'ocr.provider',
    PROFILE_OCR_TIMEOUT_MS: 'ocr.timeoutMs',
    PROFILE_OCR_WORKER: 'ocr.worker',
    PROFILE_OCR_SIMULATED_LATENCY_MS: 'ocr.simulated.latencyMs',
    PROFILE_OCR_SIMULATED_FAILURE_PERCENT: 'ocr.simulated.failurePercent',
    PROFILE_MINIMUM_VALIDITY_DAYS: 'verification.minimumValidityDays',
  },
} as const satisfies ServiceConfigShape<typeof ProfileConfigSchema>;

export function loadProfileConfig(overrides: Record<string, unknown> = {}): ProfileConfig {
  return loadServiceConfig(profileConfigShape, overrides);
}
