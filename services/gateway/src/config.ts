import { HttpConfig, LogConfig, MessagingConfig, TracingConfig } from '@carshare/platform';
import { loadServiceConfig, type ServiceConfigShape } from '@carshare/service-kit';
import { Type, type Static } from 'typebox';
import { GbfsSystemConfig } from './api/gbfs-handlers.ts';
import { RateLimitsSchema } from './domain/rate-limit-plan.ts';

/** Partial overrides of libs/resilience's defaultDownstreamSettings; validated when policies are built. */
const DownstreamOverrides = Type.Object({
  breaker: Type.Optional(Type.Record(Type.String(), Type.Number())),
  retry: Type.Optional(Type.Record(Type.String(), Type.Number())),
  bulkhead: Type.Optional(Type.Record(Type.String(), Type.Number())),
});

const defaultPort = 8080;

export const GatewayConfigSchema = Type.Object({
  http: HttpConfig(defaultPort),
  log: LogConfig,
  tracing: TracingConfig,
  cors: Type.Object({
    /** Exact origins allowed to call the API from a browser; empty = same origin only. */
    origins: Type.Array(Type.String(), { default: ['http://localhost:5173', 'http://localhost:5174'] }),
  }),
  /** Hot-reloadable: edits to the CARSHARE_CONFIG file apply without a restart. */
  rateLimits: RateLimitsSchema,
  redis: Type.Object({
    /** Shared rate-limit counters for every gateway instance; unset → in-process memory. */
    url: Type.Optional(Type.String({ minLength: 1 })),
    /** A Redis slower than this is treated as down and the local limiter answers. */
    timeoutMs: Type.Integer({ minimum: 1, default: 50 }),
    /** Keeps several platforms (or test runs) sharing one Redis apart. */
    keyPrefix: Type.String({ minLength: 1, default: 'carshare:rate-limit:' }),
  }),
  /** Per downstream service by name, e.g. { "user": { "breaker": { "failureRatio": 0.3 } } }. */
  resilience: Type.Record(Type.String(), DownstreamOverrides, { default: {} }),
  degradation: Type.Object({
    /** Each part of a gathered answer (/v1/me) gets at most this long. */
    partBudgetMs: Type.Integer({ minimum: 10, default: 2_000 }),
    /** How old a last good answer may be and still be shown (marked stale). */
    maxStaleMs: Type.Integer({ minimum: 0, default: 10 * 60_000 }),
  }),
  /** `Idempotency-Key`: in Redis when `redis.url` is set (shared by every instance), else in memory. */
  idempotency: Type.Object({
    /** How long a finished answer is replayed for its key: a day outlasts any client's retries. */
    retentionMs: Type.Integer({ minimum: 60_000, default: 24 * 60 * 60_000 }),
    /** A request holding its key longer than this is presumed dead and loses it; keep it above any request deadline. */
    lockTtlMs: Type.Integer({ minimum: 1_000, default: 60_000 }),
    /** Memory store only: keys kept by this process at most. */
    maxEntries: Type.Integer({ minimum: 100, default: 100_000 }),
    /** Redis only: keeps platforms (or test runs) sharing one Redis apart. */
    keyPrefix: Type.String({ minLength: 1, default: 'carshare:idempotency:' }),
    /** Redis only: slower than this and the call is refused with 503 rather than risk a second effect. */
    timeoutMs: Type.Integer({ minimum: 1, default: 500 }),
  }),
  /** Initial fault switches, e.g. { "rpc.error:user": { "percent": 10 } }; off by default. */
  faults: Type.Record(Type.String(), Type.Object({ percent: Type.Number({ minimum: 0, maximum: 100 }), latencyMs: Type.Optional(Type.Integer({ minimum: 0 })) }), { default: {} }),
  auth: Type.Object({
    /** How long the user service's published keys are trusted before being fetched again. */
    jwksCacheMs: Type.Integer({ minimum: 1000, default: 600_000 }),
    /** An unknown `kid` triggers a refetch at most this often (key rotation without restarts). */
    jwksCooldownMs: Type.Integer({ minimum: 0, default: 30_000 }),
    /** Operator and admin routes check the caller's current role; a fetched one is trusted this long (events drop it sooner). */
    roleCacheMs: Type.Integer({ minimum: 0, default: 5_000 }),
  }),
  /**
   * The operations listener (ADR 0023): /metrics and the API docs, never on the public port.
   * Loopback by default; in a cluster bind it to the pod network and keep it out of the ingress.
   */
  ops: Type.Object({
    host: Type.String({ default: '127.0.0.1' }),
    /** 0 = any free port (the address is logged and printed by `carshare up`). */
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 0 }),
  }),
  /** Where clients reach the public API (the document's `servers`); unset → `/`, the origin that serves the API. */
  publicUrl: Type.Optional(Type.String({ minLength: 1, maxLength: 2_048 })),
  /** Who runs this system, for the open GBFS feed's system_information (operator, timezone, contact). */
  gbfs: GbfsSystemConfig,
  /** RabbitMQ for user events (revocations); unset → the in-process bus of the embedded platform. */
  messaging: MessagingConfig,
});

export type GatewayConfig = Static<typeof GatewayConfigSchema>;

/**
 * How the gateway's config is read. Where each downstream answers is not here: discovery
 * gives it (`<SERVICE>_URL` when distributed), for every registered service alike.
 */
export const gatewayConfigShape = {
  envPrefix: 'GATEWAY',
  defaultPort,
  configSchema: GatewayConfigSchema,
  envMap: {
    PORT: 'http.port',
    CORS_ORIGINS: 'cors.origins',
    REDIS_URL: 'redis.url',
    AMQP_URL: 'messaging.amqpUrl',
    RATE_LIMITS_ENABLED: 'rateLimits.enabled',
    TRUST_PROXY: 'http.trustProxy',
    GATEWAY_HEADERS_TIMEOUT_MS: 'http.headersTimeoutMs',
    GATEWAY_REQUEST_TIMEOUT_MS: 'http.requestTimeoutMs',
    GATEWAY_CONNECTION_TIMEOUT_MS: 'http.connectionTimeoutMs',
    GATEWAY_OPS_HOST: 'ops.host',
    GATEWAY_OPS_PORT: 'ops.port',
    GATEWAY_PUBLIC_URL: 'publicUrl',
  },
} as const satisfies ServiceConfigShape<typeof GatewayConfigSchema>;

export function loadGatewayConfig(overrides: Record<string, unknown> = {}): GatewayConfig {
  return loadServiceConfig(gatewayConfigShape, overrides);
}
