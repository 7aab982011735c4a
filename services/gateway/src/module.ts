import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { userRpc } from '@carshare/contracts';
import type { Observability } from '@carshare/observability';
import {
  createAccessTokenVerifier,
  createHttpServer,
  createRpcClient,
  systemClock,
  type CallPolicy,
  type Clock,
  type Discovery,
  type HttpServer,
} from '@carshare/platform';
import { createRemoteJWKSet } from 'jose';
import { registerPublicRoutes } from './api/public-handlers.ts';
import type { GatewayConfig } from './config.ts';

export interface GatewayModuleDeps {
  config: GatewayConfig;
  observability: Observability;
  discovery: Discovery;
  clock?: Clock;
  /** Resilience per downstream, chosen at composition. */
  policies?: Partial<Record<'user', CallPolicy>>;
}

export interface GatewayModule {
  name: 'gateway';
  server: HttpServer;
  start(): Promise<void>;
  /** The OpenAPI 3.1 document served at /docs/json (after start). */
  openApiDocument(): unknown;
  close(): Promise<void>;
}

export const openApiInfo = {
  title: 'carshare API',
  version: '1.0.0',
  description: 'Find a car, reserve it, unlock it, drive, pay. Errors are `{ error: { code, message, details, traceId } }`.',
};

export function createGatewayModule(deps: GatewayModuleDeps): GatewayModule {
  const { config, observability, discovery } = deps;
  const clock = deps.clock ?? systemClock;
  const server = createHttpServer({
    observability,
    clock,
    errorStyle: 'public',
    bodyLimitBytes: config.http.bodyLimitBytes,
    defaultDeadlineMs: config.http.defaultDeadlineMs,
  });

  const user = createRpcClient(userRpc, { discovery, observability, clock, policy: deps.policies?.user });
  const [userEndpoint] = discovery.endpointsOf('user');
  const remoteKeys = createRemoteJWKSet(new URL('/.well-known/jwks.json', userEndpoint), {
    cacheMaxAge: config.auth.jwksCacheMs,
    cooldownDuration: config.auth.jwksCooldownMs,
    timeoutDuration: 2_000,
  });
  const verifier = createAccessTokenVerifier({ keys: remoteKeys, clock });

  async function registerPlugins(): Promise<void> {
    await server.register(cors, { origin: config.cors.origins, credentials: false, maxAge: 600 });
    await server.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: openApiInfo,
        components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      },
      hideUntagged: true,
    });
    await server.register(swaggerUi, { routePrefix: '/docs' });
    registerPublicRoutes(server, verifier, { user });
  }

  return {
    name: 'gateway',
    server,
    async start() {
      await registerPlugins();
      await server.ready();
    },
    openApiDocument() {
      return server.swagger();
    },
    async close() {
      await server.close();
      await user.close();
    },
  };
}
