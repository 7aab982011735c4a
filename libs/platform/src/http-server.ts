import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger, Observability } from '@carshare/observability';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { systemClock, type Clock } from './clock.ts';
import type { ErrorStyle } from './error-body.ts';
import { AllowedMethods, answerClientError, errorHandlingPlugin, frameworkErrorAnswer } from './error-handling-plugin.ts';
import { headerNames } from './headers.ts';
import { healthPlugin, type ReadinessCheck } from './health-plugin.ts';
import { inputGuardPlugin } from './input-guard-plugin.ts';
import { metricsEndpointPlugin } from './metrics-endpoint-plugin.ts';
import { requestLifecyclePlugin } from './request-lifecycle-plugin.ts';
import { lazyRequestLogger } from './request-logger.ts';
import { lazySchemaController } from './lazy-schema-compilers.ts';

export type { ReadinessCheck } from './health-plugin.ts';
// Re-exported so that the `declare module 'fastify'` augmentations (`request.ctx`,
// `request.serverSpan`) reach every package that imports the server through its declarations.
export { RequestContext } from './request-context.ts';
export { RequestTelemetry } from './request-telemetry.ts';

export interface HttpServerOptions {
  observability: Observability;
  clock?: Clock;
  errorStyle: ErrorStyle;
  bodyLimitBytes?: number;
  /** Budget given to a request that arrives without one. */
  defaultDeadlineMs?: number;
  /** No caller may ask for more than this. */
  maxDeadlineMs?: number;
  readiness?: ReadinessCheck[];
  readinessTimeoutMs?: number;
  trustProxy?: boolean;
  /**
   * Internal servers take the caller's remaining budget from `x-deadline-ms`; the public edge
   * does not, or any client could turn its own request into a 504.
   */
  trustDeadlineHeader?: boolean;
  /**
   * Slow clients (slowloris): all headers must arrive within `headersTimeoutMs` and the whole
   * request (headers and body) within `requestTimeoutMs`, else 408 and the socket is closed; a
   * socket silent for `connectionTimeoutMs` in the middle of a request is destroyed. Node checks
   * these every `timeoutCheckIntervalMs` (its default of 30 s would let a slow socket live that
   * much longer), so a slow socket is gone at most timeout + interval after its first byte.
   */
  timeouts?: Partial<HttpTimeouts>;
  /**
   * `GET /metrics` on this server (default true). The public edge says false: its metrics go on
   * an operations listener that the internet cannot reach (ADR 0023).
   */
  metricsEndpoint?: boolean;
}

export interface HttpTimeouts {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  connectionTimeoutMs: number;
  timeoutCheckIntervalMs: number;
}

export const defaultHttpTimeouts: HttpTimeouts = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  connectionTimeoutMs: 30_000,
  timeoutCheckIntervalMs: 1_000,
};

export type HttpServer = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger, TypeBoxTypeProvider>;

/**
 * The one HTTP server shape every module uses, composed of plugins that apply to every route
 * registered on it afterwards (none is encapsulated):
 *
 * 1. request lifecycle, one onRequest and one onResponse hook: a server span per request, RED
 *    metrics per route template, `request.ctx` with one deadline timer, HTTP/1.x only;
 * 2. errors: one error shape (public or RPC style) for thrown errors and unknown routes, 405
 *    with `Allow` for a known path asked with another method;
 * 3. input guard: JSON bodies only, bounded nesting, no NUL characters;
 * 4. health (`/health/live`, `/health/ready`) and metrics (`/metrics`, unless `metricsEndpoint: false`) endpoints.
 *
 * Hooks run in that order. Routes the caller adds later (RPC methods, the public API, WebSocket
 * upgrades) get all of them; a route that must not (a stream with its own lifetime) belongs in an
 * encapsulated plugin that says so. Bodies are bounded, slow clients get 408 and are closed
 * (`timeouts`), and `close` drains in-flight requests.
 */
export function createHttpServer(options: HttpServerOptions): HttpServer {
  const { observability, errorStyle } = options;
  const timeouts = { ...defaultHttpTimeouts, ...options.timeouts };
  // Node refuses a headers timeout longer than the request timeout: the request one covers both.
  const headersTimeout = Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs);
  const app = Fastify({
    loggerInstance: observability.logger,
    // Per-request lines at info level halve throughput; the telemetry plugin has the numbers.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    // `request.log` gets its pino child only when a line is written (request-logger.ts).
    childLoggerFactory: lazyRequestLogger,
    requestIdHeader: headerNames.requestId,
    genReqId: () => randomUUID(),
    bodyLimit: options.bodyLimitBytes ?? 64 * 1024,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    keepAliveTimeout: 65_000,
    requestTimeout: timeouts.requestTimeoutMs,
    connectionTimeout: timeouts.connectionTimeoutMs,
    http: { headersTimeout, requestTimeout: timeouts.requestTimeoutMs, connectionsCheckingInterval: timeouts.timeoutCheckIntervalMs },
    trustProxy: options.trustProxy ?? false,
    routerOptions: { maxParamLength: 200 },
    clientErrorHandler: answerClientError,
    frameworkErrors: frameworkErrorAnswer(errorStyle),
    // TypeBox checks and fast-json-stringify, each compiled on a route's first request and once
    // per schema (lazy-schema-compilers.ts): start-up no longer compiles ~400 routes' schemas.
    schemaController: lazySchemaController,
  }).withTypeProvider<TypeBoxTypeProvider>();
  // Added now, before any plugin loads, so that it sees every route however early it is added.
  const allowed = new AllowedMethods();
  app.addHook('onRoute', (route) => allowed.add(route.method, route.url));

  void app.register(requestLifecyclePlugin, {
    observability,
    clock: options.clock ?? systemClock,
    defaultDeadlineMs: options.defaultDeadlineMs ?? 10_000,
    maxDeadlineMs: options.maxDeadlineMs ?? 60_000,
    trustDeadlineHeader: options.trustDeadlineHeader ?? true,
  });
  void app.register(errorHandlingPlugin, { observability, errorStyle, allowed });
  void app.register(inputGuardPlugin);
  void app.register(healthPlugin, { readiness: options.readiness ?? [], readinessTimeoutMs: options.readinessTimeoutMs ?? 2_000 });
  if (options.metricsEndpoint ?? true) void app.register(metricsEndpointPlugin, { registry: observability.metrics.registry });
  return app;
}
