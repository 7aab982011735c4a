import { DatabaseConfig, HttpConfig, LogConfig, MessagingConfig, TracingConfig } from '@carshare/platform';
import { loadServiceConfig, type ServiceConfigShape } from '@carshare/service-kit';
import { Type, type Static } from 'typebox';

const defaultPort = 4007;

export const AnalyticsConfigSchema = Type.Object({
  http: HttpConfig(defaultPort),
  database: DatabaseConfig,
  messaging: MessagingConfig,
  log: LogConfig,
  tracing: TracingConfig,
  /** The event archive that `carshare analytics rebuild` replays. */
  archive: Type.Object({
    /** Days of events kept; a rebuild recovers only these (two years by default). */
    retentionDays: Type.Integer({ minimum: 1, maximum: 3650, default: 730 }),
    /** How often the sweeper deletes expired days. */
    sweepIntervalMs: Type.Integer({ minimum: 1_000, default: 3_600_000 }),
    /** Rows one sweep statement deletes at most, so it never holds the database long. */
    sweepBatch: Type.Integer({ minimum: 1, maximum: 100_000, default: 5_000 }),
  }),
  /** Search-to-reservation conversion (ADR 0026). */
  conversion: Type.Object({
    /**
     * A reservation this many minutes after a search session's start converts it. A change
     * reaches past figures only through `carshare analytics rebuild`.
     */
    windowMinutes: Type.Integer({ minimum: 1, maximum: 1440, default: 30 }),
  }),
  consumers: Type.Object({
    /**
     * Events a consumer group handles at once per instance. High on purpose: handlers wait for a
     * shared transaction (group commit), so this bounds the batch, not the database load.
     */
    concurrency: Type.Integer({ minimum: 1, maximum: 10_000, default: 1_024 }),
    /** Most events one projection transaction takes. */
    maxBatch: Type.Integer({ minimum: 1, maximum: 10_000, default: 1_000 }),
    /**
     * How long an event that finds the writer idle waits for others to share its transaction.
     * 20 ms adds that much to the projection's lag; it took the trips bench's analytics
     * statements from 16 a trip to 3 (a trip's 8 events, seconds apart, were 8 transactions).
     */
    gatherMs: Type.Integer({ minimum: 0, maximum: 1_000, default: 20 }),
  }),
});

export type AnalyticsConfig = Static<typeof AnalyticsConfigSchema>;

/** How the analytics service's config is read: ANALYTICS_HOST, ANALYTICS_PORT, and the common variables. */
export const analyticsConfigShape = {
  envPrefix: 'ANALYTICS',
  defaultPort,
  configSchema: AnalyticsConfigSchema,
  envMap: {
    ANALYTICS_ARCHIVE_RETENTION_DAYS: 'archive.retentionDays',
    ANALYTICS_ARCHIVE_SWEEP_INTERVAL_MS: 'archive.sweepIntervalMs',
    ANALYTICS_CONSUMER_CONCURRENCY: 'consumers.concurrency',
    ANALYTICS_MAX_BATCH: 'consumers.maxBatch',
    ANALYTICS_BATCH_GATHER_MS: 'consumers.gatherMs',
    ANALYTICS_CONVERSION_WINDOW_MINUTES: 'conversion.windowMinutes',
  },
} as const satisfies ServiceConfigShape<typeof AnalyticsConfigSchema>;

export function loadAnalyticsConfig(overrides: Record<string, unknown> = {}): AnalyticsConfig {
  return loadServiceConfig(analyticsConfigShape, overrides);
}
