import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import {
  analyticsRpc,
  blobRpc,
  carRpc,
  deadLetterRpcMethods,
  finishOpenApiDocument,
  paymentRpc,
  profileRpc,
  securitySchemes,
  tripRpc,
  userRpc,
  type RpcMethods,
  type RpcServiceContract,
} from '@carshare/contracts';
import type { Observability } from '@carshare/observability';
import {
  LiveConfig,
  createRemoteAccessTokenVerifier,
  createHttpServer,
  createRpcConnector,
  systemClock,
  watchConfigFile,
  type Clock,
  type Discovery,
  type HttpServer,
  type RpcClient,
  type RpcConnector,
} from '@carshare/platform';
import type { RegisteredService, ServiceDeps } from '@carshare/service-kit';
import {
  FailOpenRateLimitStore,
  FaultRegistry,
  MemoryRateLimitStore,
  RedisRateLimitStore,
  createDownstreamPolicy,
  createRateLimiter,
  withInjectedFaults,
  type DownstreamPolicy,
  type RateLimitStore,
} from '@carshare/resilience';
import type { Redis } from 'ioredis';
import { createIdempotencyStore } from './adapters/create-idempotency-store.ts';
import { registerAnalyticsRoutes } from './api/analytics-handlers.ts';
import { registerBlobsRoutes } from './api/blobs-handlers.ts';
import { registerDeadLetterRoutes } from './api/dead-letter-handlers.ts';
import { registerFleetRoutes } from './api/fleet-handlers.ts';
import { broadcastSourceOf, registerLiveFeed } from './api/live-feed.ts';
import { registerMapRoutes } from './api/map-handlers.ts';
import { createIdempotencyGuard } from './api/idempotency-guard.ts';
import { LastGoodCache } from './api/last-good-cache.ts';
import { registerPaymentRoutes } from './api/payment-handlers.ts';
import { registerPublicRoutes } from './api/public-handlers.ts';
import { createRateLimitGuard, registerEdgeThrottle } from './api/rate-limit-guard.ts';
import { SessionGuard, sessionEventTypes } from './api/session-check.ts';
import { registerSecurityHeaders } from './api/security-headers.ts';
import { registerVerificationRoutes } from './api/verification-handlers.ts';
import { registerTripRoutes } from './api/trip-handlers.ts';
import { registerAccountAdminRoutes } from './api/account-admin-handlers.ts';
import { registerWebApps } from './api/web-apps.ts';
import { hardenRouteSchema, openApiServer } from './api/openapi-document.ts';
import { centralFaultSwitches, followCentralConfig } from './central-config.ts';
import type { GatewayConfig } from './config.ts';
import { listeningUrl, startOpsListener, type OpsListener } from './ops-listener.ts';
import { createGatewayService, type DeadLetterClients } from './gateway-service.ts';
import type { RateLimits } from './domain/rate-limit-plan.ts';
import type { IdempotencyStore } from './ports.ts';

/** How long a start waits for Redis before it serves with local rate limits. */
const redisConnectBoundMs = 2_000;

async function connectWithin(redis: Redis, boundMs: number): Promise<void> {
  const connecting = redis.connect();
  // ioredis goes on reconnecting by itself; a late failure of this first attempt is not news.
  connecting.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no connection within ${boundMs} ms`)), boundMs);
  });
  try {
    await Promise.race([connecting, bound]);
  } finally {
    clearTimeout(timer);
  }
}

export interface GatewayModuleDeps {
  config: GatewayConfig;
  observability: Observability;
  discovery: Discovery;
  /** Every registered service: each one with an RPC contract gets a client, a policy and its admin routes. */
  services: readonly RegisteredService[];
  clock?: Clock;
  /** Re-reads the config when its file changes, for the hot-reloadable keys (rate limits). */
  configFile?: { path: string; reload: () => GatewayConfig } | undefined;
  /** Rate limits and fault switches from etcd, shared by every gateway (ADR 0024); the file is then not watched. */
  configSource?: ServiceDeps<GatewayConfig>['configSource'];
  /** Makes its downstream clients: in process when the composition runs a service here, else HTTP via `discovery`. */
  rpc?: RpcConnector;
  /** User events (revocations, role changes) arrive over a broadcast subscription on it. */
  bus?: ServiceDeps<GatewayConfig>['bus'];
}

export interface GatewayModule {
  name: 'gateway';
  server: HttpServer;
  faults: FaultRegistry;
  rateLimits: LiveConfig<RateLimits>;
  /** By downstream service name. */
  policies: ReadonlyMap<string, DownstreamPolicy>;
  /** The deny list and current-role checks (issue 13): tests inspect it. */
  sessions: SessionGuard;
  start(): Promise<void>;
  /** The OpenAPI 3.1 document, served at /docs/json on the operations listener (after start). */
  openApiDocument(): unknown;
  /** `http://host:port` of the operations listener: /metrics, /docs, /docs/json (after start). */
  opsUrl(): string;
  close(): Promise<void>;
}

export const openApiInfo = {
  title: 'carshare API',
  version: '1.0.0',
  description: 'Find a car, reserve it, unlock it, drive, pay. Errors are `{ error: { code, message, details, traceId } }`.',
};

export const corsMethods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export const corsExposedHeaders = [
  'Retry-After',
  'RateLimit',
  'RateLimit-Policy',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
  'Idempotency-Replayed',
  'X-Request-Id',
  'Allow',
] as const;

export function createGatewayModule(deps: GatewayModuleDeps): GatewayModule {
  const { config, observability, discovery } = deps;
  const { logger, metrics } = observability;
  const rpc = deps.rpc ?? createRpcConnector({ discovery });
  const clock = deps.clock ?? systemClock;
  const server = createHttpServer({
    observability,
    clock,
    errorStyle: 'public',
    // Metrics (and docs) are on the operations listener, not on the port the internet reaches (ADR 0023).
    metricsEndpoint: false,
    bodyLimitBytes: config.http.bodyLimitBytes,
    defaultDeadlineMs: config.http.defaultDeadlineMs,
    trustProxy: config.http.trustProxy,
    trustDeadlineHeader: false,
    timeouts: {
      headersTimeoutMs: config.http.headersTimeoutMs,
      requestTimeoutMs: config.http.requestTimeoutMs,
      connectionTimeoutMs: config.http.connectionTimeoutMs,
      // Node's check runs this often: a slow socket outlives its timeout by at most this much.
      timeoutCheckIntervalMs: Math.min(1_000, Math.ceil(config.http.headersTimeoutMs / 4)),
    },
  });

  const faults = new FaultRegistry({ clock, logger, registry: metrics.registry });
  for (const [name, setting] of Object.entries(config.faults)) {
    faults.registerRpcFaults(name.split(':')[1] ?? name);
    faults.set(name, setting, 'config');
  }
  const policies = new Map<string, DownstreamPolicy>();
  const clients = new Map<string, RpcClient<RpcMethods>>();
  for (const { name, rpc: contract } of deps.services) {
    if (!contract) continue;
    const policy = createDownstreamPolicy(name, config.resilience[name], { registry: metrics.registry, logger });
    policies.set(name, policy);
    clients.set(name, rpc.client(contract, { observability, clock, policy: withInjectedFaults(policy, faults, name) }));
  }
  function clientOf<Methods extends RpcMethods>(contract: RpcServiceContract<Methods>): RpcClient<Methods> {
    const client = clients.get(contract.service);
    if (!client) throw new Error(`the gateway calls ${contract.service}, which is not a registered service`);
    return client as RpcClient<Methods>;
  }
  const user = clientOf(userRpc);
  // Every service whose contract includes the dead-letter methods keeps dead letters.
  const deadLetterClients: DeadLetterClients = new Map(
    deps.services
      .filter(({ rpc }) => rpc && Object.keys(deadLetterRpcMethods).every((method) => method in rpc.methods))
      .map(({ name }) => [name, clients.get(name) as unknown as RpcClient<typeof deadLetterRpcMethods>]),
  );

  const gateway = createGatewayService({
    user,
    trip: clients.has(tripRpc.service) ? clientOf(tripRpc) : undefined,
    deadLetters: deadLetterClients,
    faults,
    faultWriter: deps.configSource ? centralFaultSwitches(deps.configSource, faults) : undefined,
    lastGoodUsers: new LastGoodCache({ maxEntries: 10_000, maxAgeMs: config.degradation.maxStaleMs, now: () => clock.now() }),
    partBudgetMs: config.degradation.partBudgetMs,
    clock,
  });
  const verifier = createRemoteAccessTokenVerifier({ discovery, clock, cacheMaxAgeMs: config.auth.jwksCacheMs, cooldownMs: config.auth.jwksCooldownMs });

  const sessions = new SessionGuard({ user, now: () => clock.now(), roleCacheMs: config.auth.roleCacheMs, logger });
  let sessionEvents: { close(): Promise<void> } | undefined;

  const rateLimits = new LiveConfig(config.rateLimits);
  let redis: Redis | undefined;
  let stopWatching: (() => void) | undefined;

  async function rateLimitStore(): Promise<RateLimitStore> {
    if (!config.redis.url) return new MemoryRateLimitStore();
    // Loaded only with a Redis to talk to: `npm start` has none and skips loading ioredis.
    const { Redis } = await import('ioredis');
    // No offline queue and no retries per command: a limiter that waits for Redis is worse
    // than one that answers locally, which the fail-open store does.
    redis = new Redis(config.redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true });
    redis.on('error', () => undefined);
    // Connected before the first request when Redis is up: requests that arrived while the
    // connection was still opening were limited locally, per instance, and marked the store
    // degraded at every start. A Redis that is down does not hold the start beyond the bound.
    await connectWithin(redis, redisConnectBoundMs).catch((error: unknown) => logger.warn({ err: error }, 'Redis not reachable at start: rate limits are kept in this process until it is'));
    return new FailOpenRateLimitStore({
      primary: new RedisRateLimitStore({ redis, keyPrefix: config.redis.keyPrefix }),
      timeoutMs: config.redis.timeoutMs,
      registry: metrics.registry,
      logger,
    });
  }

  let idempotencyStore: IdempotencyStore | undefined;
  let ops: OpsListener | undefined;

  async function registerRoutes(): Promise<void> {
    await registerSecurityHeaders(server);
    const rateLimitGuard = createRateLimitGuard(createRateLimiter({ store: await rateLimitStore(), clock }), rateLimits);
    registerEdgeThrottle(server, rateLimitGuard);
    await server.register(cors, {
      origin: config.cors.origins,
      credentials: false,
      maxAge: 600,
      strictPreflight: false,
      // Every method the API's routes use; a preflight for anything else is refused by the browser.
      methods: [...corsMethods],
      allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'traceparent', 'X-Request-Id'],
      // A browser app reads only the response headers listed here: these tell it to wait, that it
      // saw a replay, or which request id to quote.
      exposedHeaders: [...corsExposedHeaders],
    });
    // Hand-written routes (devices, GBFS, map) get the same request bounds as contract routes.
    server.addHook('onRoute', hardenRouteSchema);
    await server.register(swagger, {
      openapi: { openapi: '3.1.0', info: openApiInfo, components: { securitySchemes: { ...securitySchemes } } },
      hideUntagged: true,
      // Always an OpenAPI (not Swagger 2) document here: the `openapi` option above.
      transformObject: (document) => ('openapiObject' in document ? finishOpenApiDocument(document.openapiObject, openApiServer(config)) : document.swaggerObject),
    });
    idempotencyStore = await createIdempotencyStore(config, logger);
    const routeDeps = {
      verifier,
      sessions,
      rateLimits: rateLimitGuard,
      idempotency: createIdempotencyGuard({ store: idempotencyStore, clock }),
    };
    registerDeadLetterRoutes(server, routeDeps, [...deadLetterClients.keys()], gateway);
    registerPublicRoutes(server, routeDeps, user, gateway);
    registerAccountAdminRoutes(server, routeDeps, user);
    // A composition may run without some services (benches, focused tests): their routes are then absent, not broken.
    if (clients.has(carRpc.service)) registerFleetRoutes(server, routeDeps, clientOf(carRpc), config.gbfs);
    if (clients.has(carRpc.service)) registerLiveFeed(server, routeDeps, { car: clientOf(carRpc), observability, bus: broadcastSourceOf(deps) });
    registerMapRoutes(server, routeDeps);
    if (clients.has(profileRpc.service)) registerVerificationRoutes(server, routeDeps, clientOf(profileRpc));
    if (clients.has(blobRpc.service)) registerBlobsRoutes(server, routeDeps, clientOf(blobRpc));
    if (clients.has(paymentRpc.service)) registerPaymentRoutes(server, routeDeps, clientOf(paymentRpc));
    if (clients.has(tripRpc.service)) registerTripRoutes(server, routeDeps, clientOf(tripRpc), clients.has(carRpc.service) ? clientOf(carRpc) : undefined);
    if (clients.has(analyticsRpc.service)) registerAnalyticsRoutes(server, routeDeps, clientOf(analyticsRpc));
    await registerWebApps(server);
  }

  return {
    name: 'gateway',
    server,
    faults,
    rateLimits,
    policies,
    sessions,
    async start() {
      if (deps.bus) {
        sessionEvents = await deps.bus.subscribeBroadcast(sessionEventTypes, (event) => sessions.onEvent(event), { onGap: () => sessions.onGap() });
      } else {
        logger.warn('no event bus: revoked tokens keep working until they expire');
      }
      await registerRoutes();
      await server.ready();
      ops = await startOpsListener({
        observability,
        host: config.ops.host,
        port: config.ops.port,
        document: () => server.swagger(),
        publicOrigin: () => listeningUrl(server),
        serversConfigured: config.publicUrl !== undefined,
      });
      logger.info({ url: ops.url }, 'operations listener (metrics, API docs) ready');
      if (deps.configSource) {
        stopWatching = followCentralConfig(deps.configSource, config, rateLimits, faults);
      } else if (deps.configFile) {
        const { path, reload } = deps.configFile;
        stopWatching = watchConfigFile(path, () => reload().rateLimits, rateLimits, logger);
      }
      if (!config.redis.url) logger.info('no REDIS_URL: rate limits are kept in this process');
    },
    opsUrl() {
      if (!ops) throw new Error('the gateway has not started: no operations listener yet');
      return ops.url;
    },
    openApiDocument() {
      return server.swagger();
    },
    async close() {
      stopWatching?.();
      await sessionEvents?.close();
      await server.close();
      await ops?.close();
      await Promise.all([...clients.values()].map((client) => client.close()));
      redis?.disconnect();
      await idempotencyStore?.close();
    },
  };
}
