import { InProcessEventBus, openEventBus, type EventBus } from '@carshare/messaging';
import type { Observability } from '@carshare/observability';
import {
  EtcdConfigSource,
  Lifecycle,
  createRpcConnector,
  observabilityFromConfig,
  systemClock,
  uuidV7Ids,
  type Discovery,
  type HotConfigSource,
  type ObservabilityConfig,
  type RpcConnector,
} from '@carshare/platform';
import { openSqlEngine, type SqlEngine, type SqlEngineOptions } from '@carshare/storage';
import { discoveryFromEnvironment, loadServiceConfig, processEnvironment, rpcTransportFromEnvironment, serviceKeysFromEnvironment, type ServiceEnvironment } from './service-config.ts';
import type { AnyServiceDescriptor, ServiceModule } from './service-descriptor.ts';
import { advertisedUrl, openDiscovery } from './service-discovery.ts';
import type { ServiceRegistry } from './service-registry.ts';

/** The infrastructure sections a service's config has when its descriptor asks for them. */
interface InfrastructureConfig {
  database?: { url?: string; dataDir: string; pgliteThread?: SqlEngineOptions['pgliteThread'] };
  messaging?: { amqpUrl?: string };
}

export function databaseSettings(
  descriptor: AnyServiceDescriptor,
  config: unknown,
): Pick<SqlEngineOptions, 'databaseUrl' | 'dataDir' | 'pgliteThread'> {
  const database = (config as InfrastructureConfig).database;
  if (!database) throw new Error(`${descriptor.name} has migrations but no database section in its config (use DatabaseConfig)`);
  return { databaseUrl: database.url, dataDir: database.dataDir, pgliteThread: database.pgliteThread };
}

export function amqpUrlOf(config: unknown): string | undefined {
  return (config as InfrastructureConfig).messaging?.amqpUrl;
}

export interface ComposeModuleOptions {
  registry: ServiceRegistry;
  descriptor: AnyServiceDescriptor;
  config: unknown;
  observability: Observability;
  engine: SqlEngine | undefined;
  bus: EventBus | undefined;
  discovery: Discovery;
  /** How it serves and calls RPCs; over HTTP through `discovery` when omitted (a process of its own). */
  rpc?: RpcConnector;
  environment: ServiceEnvironment;
  /** For the hot-reloadable keys; the same overrides apply on every reload. */
  overrides?: Record<string, unknown>;
  /** The hot-reloadable keys from etcd instead of the file (see `openConfigSource`). */
  configSource?: HotConfigSource | undefined;
}

/** Builds a module from its descriptor with what the composition opened: one place for both topologies. */
export function composeModule(options: ComposeModuleOptions): ServiceModule {
  const { descriptor, environment, engine } = options;
  const { configFile } = environment;
  return descriptor.createModule({
    config: options.config,
    observability: options.observability,
    discovery: options.discovery,
    rpc: options.rpc ?? createRpcConnector({ discovery: options.discovery }),
    database: descriptor.migrationsDir && engine ? engine.forService(descriptor.name) : undefined,
    bus: descriptor.messaging ? options.bus : undefined,
    concurrentRelays: engine?.kind === 'postgres',
    clock: systemClock,
    ids: uuidV7Ids,
    services: options.registry.othersThan(descriptor.name),
    configFile: configFile ? { path: configFile, reload: () => loadServiceConfig(descriptor, options.overrides, environment) } : undefined,
    configSource: options.configSource,
  }) as ServiceModule;
}

function requireService(registry: ServiceRegistry, name: string): AnyServiceDescriptor {
  const descriptor = registry.find(name);
  if (!descriptor) throw new UnknownServiceError(name, registry.names());
  return descriptor;
}

export class UnknownServiceError extends Error {
  constructor(name: string, known: readonly string[]) {
    super(`unknown service '${name}': ${known.join(', ')}`);
    this.name = 'UnknownServiceError';
  }
}

/** One service alone, as one process of the distributed topology, until SIGTERM/SIGINT. */
export async function runService(registry: ServiceRegistry, name: string, environment: ServiceEnvironment = processEnvironment()): Promise<void> {
  const descriptor = requireService(registry, name);
  const config = loadServiceConfig(descriptor, {}, environment);
  const observability = observabilityFromConfig(name, config as ObservabilityConfig, { processMetrics: true });
  const { logger } = observability;
  const lifecycle = new Lifecycle(logger);
  lifecycle.add({ name: 'observability', close: () => observability.shutdown() });
  try {
    let engine: SqlEngine | undefined;
    if (descriptor.migrationsDir) {
      const settings = databaseSettings(descriptor, config);
      engine = await openSqlEngine(settings);
      lifecycle.add({ name: 'database', close: () => (engine as SqlEngine).close() });
      if (!settings.databaseUrl) logger.info({ dataDir: settings.dataDir }, 'no DATABASE_URL: embedded PGlite');
    }
    let bus: EventBus | undefined;
    if (descriptor.messaging) {
      const { tracing, metrics } = observability;
      bus = await openEventBus({ amqpUrl: amqpUrlOf(config), logger, inProcess: { tracing, registry: metrics.registry }, rabbitMq: { tracing, registry: metrics.registry } });
      lifecycle.add({ name: 'event bus', close: () => (bus as EventBus).close() });
    }
    const keys = serviceKeysFromEnvironment(name, environment);
    if (keys.laptop) logger.warn('service identity uses the laptop keys, which anyone can derive: set SERVICE_IDENTITY_KEY and SERVICE_IDENTITY_PUBLIC_KEYS (ADR 0012)');
    const opened = await openDiscovery(registry.callees(descriptor), environment, (message, details) => logger.warn(details ?? {}, message));
    lifecycle.add({ name: 'discovery', close: () => opened.close() });
    const { discovery } = opened;
    const configSource = await openConfigSource(name, environment, logger);
    if (configSource) lifecycle.add({ name: 'central config', close: () => configSource.close() });
    const module = composeModule({
      registry,
      descriptor,
      config,
      observability,
      engine,
      bus,
      discovery,
      // A process of its own has no module to call in process: `in-process` (the default) means the framed wire.
      rpc: createRpcConnector({ discovery, keys, wire: rpcTransportFromEnvironment(environment) === 'http' ? 'http' : 'framed' }),
      environment,
      configSource,
    });
    await module.start({ background: true });
    const { host, port } = (config as { http: { host: string; port: number } }).http;
    await module.server.listen({ host, port });
    lifecycle.add({ name, close: () => module.close() });
    // Announced only once it answers, and withdrawn first on SIGTERM (the lifecycle closes in
    // reverse): callers stop choosing it, then the module finishes its in-flight calls and exits.
    const address = module.server.server.address();
    const listeningPort = typeof address === 'object' && address ? address.port : port;
    const registration = await opened.announce(name, {
      url: advertisedUrl(descriptor, host, listeningPort, environment),
      ...(environment.env['ZONE'] && { zone: environment.env['ZONE'] }),
      ...(environment.env['CARSHARE_VERSION'] && { version: environment.env['CARSHARE_VERSION'] }),
    });
    if (registration) {
      lifecycle.add({ name: 'registration', close: () => registration.close() });
      logger.info({ discovery: opened.kind, key: registration.key }, 'announced to discovery');
    }
  } catch (error) {
    await lifecycle.close();
    throw error;
  }
  lifecycle.closeOnSignals();
}

/**
 * Central config (issue 17, ADR 0024): with `ETCD_ENDPOINTS` set, the hot-reloadable keys of
 * `service` come from etcd, under `ETCD_CONFIG_PREFIX` (default `carshare/config/`) +
 * `<service>/<key>`, so every instance of it shares them; otherwise undefined and the
 * CARSHARE_CONFIG file stays the source. Not tied to `DISCOVERY`: a cluster may find its services
 * through DNS and still keep its switches in etcd.
 */
export async function openConfigSource(service: string, environment: ServiceEnvironment, logger: Observability['logger']): Promise<HotConfigSource | undefined> {
  const endpoints = (environment.env['ETCD_ENDPOINTS'] ?? '')
    .split(',')
    .map((endpoint) => endpoint.trim())
    .filter(Boolean);
  if (endpoints.length === 0) return undefined;
  const source = await EtcdConfigSource.connect({ endpoints, service, prefix: environment.env['ETCD_CONFIG_PREFIX'] || undefined, logger });
  logger.info({ endpoints, service }, 'hot-reloadable configuration from etcd');
  return source;
}

/**
 * A service's module over the configured database for a one-off command (`carshare migrate`,
 * `admin create`): migrated and ready, no background work, closed afterwards. Events it writes
 * stay in the outbox until the running service relays them: a command must not publish to a
 * bus nobody listens on.
 */
export async function withServiceModule<T>(
  registry: ServiceRegistry,
  name: string,
  work: (module: ServiceModule) => Promise<T>,
  environment: ServiceEnvironment = processEnvironment(),
): Promise<T> {
  const descriptor = requireService(registry, name);
  const config = loadServiceConfig(descriptor, { 'log.level': 'warn' }, environment);
  const observability = observabilityFromConfig(name, config as ObservabilityConfig, { processMetrics: false });
  const engine = descriptor.migrationsDir ? await openSqlEngine(databaseSettings(descriptor, config)) : undefined;
  try {
    const module = composeModule({
      registry,
      descriptor,
      config,
      observability,
      engine,
      bus: new InProcessEventBus(),
      discovery: discoveryFromEnvironment(registry.callees(descriptor), environment),
      environment: { ...environment, configFile: undefined },
    });
    await module.start({ background: false });
    try {
      return await work(module);
    } finally {
      await module.close();
    }
  } finally {
    await engine?.close();
    await observability.shutdown();
  }
}
