import { DatabaseConfig, HttpConfig, LogConfig, MessagingConfig, TracingConfig } from '@carshare/platform';
import { loadServiceConfig, type ServiceConfigShape } from '@carshare/service-kit';
import { Type, type Static } from 'typebox';

const defaultPort = 4005;

export const PaymentConfigSchema = Type.Object({
  http: HttpConfig(defaultPort),
  database: DatabaseConfig,
  messaging: MessagingConfig,
  log: LogConfig,
  tracing: TracingConfig,
  /** ISO 4217; every amount of this deployment is in it. */
  currency: Type.String({ pattern: '^[A-Z]{3}$', default: 'EUR' }),
  /**
   * The card processor. Only the simulated one exists so far (a real one is an adapter behind
   * the same PaymentProvider port); its knobs drive fault drills.
   */
  provider: Type.Object({
    kind: Type.Union([Type.Literal('simulated')], { default: 'simulated' }),
    timeoutMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 5_000 }),
    latencyMs: Type.Integer({ minimum: 0, maximum: 10_000, default: 40 }),
    declineRate: Type.Number({ minimum: 0, maximum: 1, default: 0 }),
    outage: Type.Boolean({ default: false }),
    /**
     * Where the simulated processor keeps its intents and idempotency keys: `database`, tables in
     * a schema of their own beside (never inside) the payment schema, durable across our crashes
     * as a real processor's books are (ADR 0027); `memory`, gone with the process (unit tests).
     */
    store: Type.Union([Type.Literal('database'), Type.Literal('memory')], { default: 'database' }),
    schema: Type.String({ pattern: '^[a-z_][a-z0-9_]{0,62}$', default: 'simulated_processor' }),
  }),
  /** Failed captures are retried with the same idempotency key, backing off up to maxDelayMs. */
  captureRetry: Type.Object({
    intervalMs: Type.Integer({ minimum: 100, default: 5_000 }),
    baseDelayMs: Type.Integer({ minimum: 100, default: 10_000 }),
    maxDelayMs: Type.Integer({ minimum: 1_000, default: 15 * 60_000 }),
  }),
});

export type PaymentConfig = Static<typeof PaymentConfigSchema>;

/** How the payment service's config is read: PAYMENT_HOST, PAYMENT_PORT, and the common variables. */
export const paymentConfigShape = {
  envPrefix: 'PAYMENT',
  defaultPort,
  configSchema: PaymentConfigSchema,
  envMap: {
    PAYMENT_CURRENCY: 'currency',
    PAYMENT_PROVIDER_TIMEOUT_MS: 'provider.timeoutMs',
    PAYMENT_PROVIDER_LATENCY_MS: 'provider.latencyMs',
    PAYMENT_PROVIDER_DECLINE_RATE: 'provider.declineRate',
    PAYMENT_PROVIDER_OUTAGE: 'provider.outage',
    PAYMENT_PROVIDER_STORE: 'provider.store',
    PAYMENT_PROVIDER_SCHEMA: 'provider.schema',
  },
} as const satisfies ServiceConfigShape<typeof PaymentConfigSchema>;

export function loadPaymentConfig(overrides: Record<string, unknown> = {}): PaymentConfig {
  return loadServiceConfig(paymentConfigShape, overrides);
}
