import { DatabaseConfig, HttpConfig, LogConfig, TracingConfig } from '@carshare/platform';
import { loadServiceConfig, type ServiceConfigShape } from '@carshare/service-kit';
import { Type, type Static } from 'typebox';

const defaultPort = 4005;

export const PaymentConfigSchema = Type.Object({
  http: HttpConfig(defaultPort),
  database: DatabaseConfig,
  log: LogConfig,
  tracing: TracingConfig,
});

export type PaymentConfig = Static<typeof PaymentConfigSchema>;

/** How the payment service's config is read: PAYMENT_HOST, PAYMENT_PORT, and the common variables. */
export const paymentConfigShape = {
  envPrefix: 'PAYMENT',
  defaultPort,
  configSchema: PaymentConfigSchema,
  envMap: {},
} as const satisfies ServiceConfigShape<typeof PaymentConfigSchema>;

export function loadPaymentConfig(overrides: Record<string, unknown> = {}): PaymentConfig {
  return loadServiceConfig(paymentConfigShape, overrides);
}
