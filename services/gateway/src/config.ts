import { HttpConfig, LogConfig, TracingConfig, commonEnvMap, loadConfig } from '@carshare/platform';
import { Type, type Static } from 'typebox';

export const GatewayConfigSchema = Type.Object({
  http: HttpConfig(8080),
  log: LogConfig,
  tracing: TracingConfig,
  cors: Type.Object({
    /** Exact origins allowed to call the API from a browser; empty = same origin only. */
    origins: Type.Array(Type.String(), { default: ['http://localhost:5173', 'http://localhost:5174'] }),
  }),
  services: Type.Object({
    /** Where each downstream answers; comma-separated lists spread load across instances. */
    user: Type.String({ default: 'http://127.0.0.1:4001' }),
  }),
  auth: Type.Object({
    /** How long the user service's published keys are trusted before being fetched again. */
    jwksCacheMs: Type.Integer({ minimum: 1000, default: 600_000 }),
    /** An unknown `kid` triggers a refetch at most this often (key rotation without restarts). */
    jwksCooldownMs: Type.Integer({ minimum: 0, default: 30_000 }),
  }),
});

export type GatewayConfig = Static<typeof GatewayConfigSchema>;

export function loadGatewayConfig(overrides: Record<string, unknown> = {}): GatewayConfig {
  return loadConfig(GatewayConfigSchema, {
    env: process.env,
    file: process.env['CARSHARE_CONFIG'],
    envMap: {
      LOG_LEVEL: commonEnvMap.LOG_LEVEL,
      LOG_PRETTY: commonEnvMap.LOG_PRETTY,
      OTEL_EXPORTER_OTLP_ENDPOINT: commonEnvMap.OTEL_EXPORTER_OTLP_ENDPOINT,
      OTEL_TRACES_SAMPLER_ARG: commonEnvMap.OTEL_TRACES_SAMPLER_ARG,
      GATEWAY_HOST: 'http.host',
      PORT: 'http.port',
      GATEWAY_PORT: 'http.port',
      CORS_ORIGINS: 'cors.origins',
      USER_URL: 'services.user',
    },
    overrides,
  });
}
