import type { AddressInfo } from 'node:net';
import { createGatewayModule, gatewayConfigFile, loadGatewayConfig, type GatewayModule } from '@carshare/gateway-service';
import { Lifecycle, StaticDiscovery, observabilityFromConfig } from '@carshare/platform';
import { openEventBus, type EventBus } from '@carshare/messaging';
import { openSqlEngine, type SqlEngine } from '@carshare/storage';
import { createUserModule, loadUserConfig, type UserModule } from '@carshare/user-service';
import type { Logger } from '@carshare/observability';

export interface EmbeddedPlatformOptions {
  /** Gateway port; 0 picks a free one (tests). */
  gatewayPort?: number;
  gatewayHost?: string;
  /** PGlite folder, or 'memory://'; ignored when DATABASE_URL is set. */
  dataDir?: string;
  logLevel?: string;
  prettyLogs?: boolean;
  tracing?: { otlpEndpoint?: string; sampleRatio?: number };
  logDestination?: NodeJS.WritableStream;
  /** Gateway config paths → values (tests: rate limits, faults, resilience settings). */
  gatewayOverrides?: Record<string, unknown>;
  /**
   * Runs once the user service is up and before the gateway accepts traffic, so whatever it
   * creates (the demo accounts) exists by the time /health/ready says yes.
   */
  beforeGatewayListens?: (user: UserModule) => Promise<void>;
  /** Observes the slow first-start steps, so the CLI can say what it is doing. */
  onProgress?: (message: string) => void;
}

export interface EmbeddedPlatform {
  gatewayUrl: string;
  userUrl: string;
  engine: SqlEngine;
  bus: EventBus;
  user: UserModule;
  gateway: GatewayModule;
  logger: Logger;
  close(): Promise<void>;
}

function urlOf(address: AddressInfo | string | null): string {
  if (address === null || typeof address === 'string') throw new Error('server is not listening on TCP');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

function observabilityOverrides(options: EmbeddedPlatformOptions): Record<string, unknown> {
  return {
    ...(options.logLevel !== undefined && { 'log.level': options.logLevel }),
    ...(options.prettyLogs !== undefined && { 'log.pretty': options.prettyLogs }),
    ...(options.tracing?.otlpEndpoint !== undefined && { 'tracing.otlpEndpoint': options.tracing.otlpEndpoint }),
    ...(options.tracing?.sampleRatio !== undefined && { 'tracing.sampleRatio': options.tracing.sampleRatio }),
  };
}

/**
 * Every module in one process (`carshare up`): internal services on free loopback ports, the
 * gateway on the public one, one PGlite (or PostgreSQL) with a schema per service. Calls between
 * modules still go through the RPC clients over loopback HTTP, exactly as when distributed.
 */
export async function startEmbeddedPlatform(options: EmbeddedPlatformOptions = {}): Promise<EmbeddedPlatform> {
  const progress = options.onProgress ?? (() => undefined);
  const shared = observabilityOverrides(options);
  const userConfig = loadUserConfig({
    ...shared,
    'http.host': '127.0.0.1',
    'http.port': 0,
    ...(options.dataDir !== undefined && { 'database.dataDir': options.dataDir }),
  });
  const userObservability = observabilityFromConfig('user', userConfig, { processMetrics: false, logDestination: options.logDestination });
  const logger = userObservability.logger;
  const lifecycle = new Lifecycle(logger);

  const engine = await openSqlEngine({
    databaseUrl: userConfig.database.url,
    dataDir: userConfig.database.dataDir,
    onProgress: (event) => {
      if (event.phase === 'opening') {
        progress(
          event.firstRun
            ? `creating the embedded database in ${event.location} (first start takes a few seconds)`
            : `opening ${event.kind === 'pglite' ? 'the embedded database' : 'PostgreSQL'} at ${event.location}`,
        );
      } else {
        progress(`database ready in ${Math.round(event.durationMs)} ms`);
      }
    },
  });
  lifecycle.add({ name: 'database', close: () => engine.close() });
  lifecycle.add({ name: 'user observability', close: () => userObservability.shutdown() });

  try {
    // One bus per process: its consumer spans carry the name of the first consuming module.
    const eventTracing = userObservability.tracing;
    const bus = await openEventBus({
      amqpUrl: userConfig.messaging.amqpUrl,
      logger,
      inProcess: { tracing: eventTracing },
      rabbitMq: { tracing: eventTracing },
    });
    lifecycle.add({ name: 'event bus', close: () => bus.close() });
    const user = createUserModule({
      config: userConfig,
      observability: userObservability,
      database: engine.forService('user'),
      bus,
      concurrentRelays: engine.kind === 'postgres',
    });
    progress('migrating and starting the user service');
    await user.start();
    await user.server.listen({ host: userConfig.http.host, port: userConfig.http.port });
    lifecycle.add({ name: 'user', close: () => user.close() });
    const userUrl = urlOf(user.server.server.address());
    await options.beforeGatewayListens?.(user);

    const gatewayOverrides = {
      ...shared,
      'services.user': userUrl,
      ...(options.gatewayPort !== undefined && { 'http.port': options.gatewayPort }),
      ...(options.gatewayHost !== undefined && { 'http.host': options.gatewayHost }),
      ...options.gatewayOverrides,
    };
    const gatewayConfig = loadGatewayConfig(gatewayOverrides);
    const configFile = gatewayConfigFile();
    const gatewayObservability = observabilityFromConfig('gateway', gatewayConfig, {
      processMetrics: true,
      logDestination: options.logDestination,
    });
    lifecycle.add({ name: 'gateway observability', close: () => gatewayObservability.shutdown() });
    const gateway = createGatewayModule({
      config: gatewayConfig,
      observability: gatewayObservability,
      discovery: new StaticDiscovery({ user: [userUrl] }),
      ...(configFile && { configFile: { path: configFile, reload: () => loadGatewayConfig(gatewayOverrides) } }),
    });
    await gateway.start();
    await gateway.server.listen({ host: gatewayConfig.http.host, port: gatewayConfig.http.port });
    lifecycle.add({ name: 'gateway', close: () => gateway.close() });

    return {
      gatewayUrl: urlOf(gateway.server.server.address()),
      userUrl,
      engine,
      bus,
      user,
      gateway,
      logger,
      close: () => lifecycle.close(),
    };
  } catch (error) {
    await lifecycle.close();
    throw error;
  }
}
