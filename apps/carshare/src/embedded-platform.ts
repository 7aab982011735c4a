import type { AddressInfo } from 'node:net';
import { openEventBus, type EventBus } from '@carshare/messaging';
import type { Logger, Observability } from '@carshare/observability';
import { InProcessRpcHub, Lifecycle, StaticDiscovery, createRpcConnector, observabilityFromConfig, type ObservabilityConfig, type RpcTransportKind } from '@carshare/platform';
import {
  amqpUrlOf,
  composeModule,
  databaseSettings,
  loadServiceConfig,
  processEnvironment,
  rpcTransportFromEnvironment,
  type AnyServiceDescriptor,
  type ModuleOf,
  type ServiceModule,
  type ServiceRegistry,
} from '@carshare/service-kit';
import { openSqlEngine, type SqlEngine } from '@carshare/storage';
import { serviceRegistry } from './service-registry.ts';

export interface EmbeddedPlatformOptions {
  /** Public (edge) port; 0 picks a free one (tests). */
  gatewayPort?: number;
  gatewayHost?: string;
  /** PGlite folder, or 'memory://'; ignored when DATABASE_URL is set. */
  dataDir?: string;
  logLevel?: string;
  prettyLogs?: boolean;
  tracing?: { otlpEndpoint?: string; sampleRatio?: number };
  logDestination?: NodeJS.WritableStream;
  /** Config paths → values per service name (tests: rate limits, faults, resilience settings). */
  overrides?: Readonly<Record<string, Record<string, unknown>>>;
  /**
   * Creates every service's demo data before the edge accepts traffic, so it exists by the
   * time /health/ready says yes (`carshare up`).
   */
  seedDemo?: boolean;
  /** Observes the slow first-start steps, so the CLI can say what it is doing. */
  onProgress?: (message: string) => void;
  /** Another set of services (tests of the kit itself); the platform's own by default. */
  registry?: ServiceRegistry;
  /**
   * How modules call each other: in process (no socket; the default) or over loopback HTTP as
   * between processes. `RPC_TRANSPORT` when omitted (ADR 0011).
   */
  rpcTransport?: RpcTransportKind;
}

export interface EmbeddedPlatform {
  /** The edge service's URL (the gateway's). */
  gatewayUrl: string;
  /** Where each service answers, by name. */
  urls: ReadonlyMap<string, string>;
  /** How the modules call each other. */
  rpcTransport: RpcTransportKind;
  engine: SqlEngine;
  /** The data folder (PGlite, and beside it the simulator's fleet.json). */
  dataDir: string;
  bus: EventBus;
  logger: Logger;
  /** What seeding said, when `seedDemo` was asked for. */
  demo: { created: string[]; logins: string[] };
  /** A started module, typed by its descriptor: `platform.module(userDescriptor).users`. */
  module<Descriptor extends AnyServiceDescriptor>(descriptor: Descriptor): ModuleOf<Descriptor>;
  urlOf(service: string): string;
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

/** Where a service listens: internal ones on free loopback ports, the edge where asked. */
function listenOverrides(descriptor: AnyServiceDescriptor, options: EmbeddedPlatformOptions): Record<string, unknown> {
  if (!descriptor.edge) return { 'http.host': '127.0.0.1', 'http.port': 0 };
  return {
    ...(options.gatewayPort !== undefined && { 'http.port': options.gatewayPort }),
    ...(options.gatewayHost !== undefined && { 'http.host': options.gatewayHost }),
  };
}

/**
 * Every registered service in one process (`carshare up`), callees first and the edge last:
 * internal services on free loopback ports, one PGlite (or PostgreSQL) with a schema per
 * service, one bus. Calls between modules still go through the RPC clients, with the same
 * contract validation, deadline, policies, spans and metrics as when distributed; by default
 * they skip the socket (in-process transport), and go over loopback HTTP with `rpcTransport: 'http'`
 * or over the framed wire (ADR 0029) with `'framed'`.
 * Every service still listens: health, metrics, the published keys and the RPC wire stay open.
 */
export async function startEmbeddedPlatform(options: EmbeddedPlatformOptions = {}): Promise<EmbeddedPlatform> {
  const registry = options.registry ?? serviceRegistry;
  const progress = options.onProgress ?? (() => undefined);
  const environment = processEnvironment();
  const rpcTransport = options.rpcTransport ?? rpcTransportFromEnvironment(environment);
  const configs = new Map<AnyServiceDescriptor, { config: unknown; overrides: Record<string, unknown> }>();
  for (const descriptor of registry.startOrder) {
    const overrides = {
      ...observabilityOverrides(options),
      ...listenOverrides(descriptor, options),
      ...(descriptor.migrationsDir && options.dataDir !== undefined && { 'database.dataDir': options.dataDir }),
      ...options.overrides?.[descriptor.name],
    };
    configs.set(descriptor, { config: loadServiceConfig(descriptor, overrides, environment), overrides });
  }
  const observabilities = new Map<AnyServiceDescriptor, Observability>();
  for (const [descriptor, { config }] of configs) {
    observabilities.set(
      descriptor,
      observabilityFromConfig(descriptor.name, config as ObservabilityConfig, {
        // Process metrics once per process: on the edge, which a scraper reaches first.
        processMetrics: descriptor.edge === true,
        logDestination: options.logDestination,
      }),
    );
  }
  const first = registry.startOrder[0];
  if (!first) throw new Error('no service is registered');
  const logger = (observabilities.get(first) as Observability).logger;
  const lifecycle = new Lifecycle(logger);
  for (const [descriptor, observability] of observabilities) {
    lifecycle.add({ name: `${descriptor.name} observability`, close: () => observability.shutdown() });
  }

  try {
    const databaseOwner = registry.startOrder.find((descriptor) => descriptor.migrationsDir);
    if (!databaseOwner) throw new Error('no registered service has a database');
    const database = databaseSettings(databaseOwner, configs.get(databaseOwner)?.config);
    const engine = await openSqlEngine({
      ...database,
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

    // One bus per process: its consumer spans carry the name of the first consuming module.
    const messagingOwner = registry.startOrder.find((descriptor) => descriptor.messaging) ?? first;
    // Its metrics too: one bus, so its consumers' and publishers' series are on that module's /metrics.
    const { tracing: eventTracing, metrics: eventMetrics } = observabilities.get(messagingOwner) as Observability;
    const bus = await openEventBus({
      amqpUrl: amqpUrlOf(configs.get(messagingOwner)?.config),
      logger,
      inProcess: { tracing: eventTracing, registry: eventMetrics.registry },
      rabbitMq: { tracing: eventTracing, registry: eventMetrics.registry },
    });
    lifecycle.add({ name: 'event bus', close: () => bus.close() });

    // One hub per process: each module serves its contract into it, and its callers find it there.
    const hub = rpcTransport === 'in-process' ? new InProcessRpcHub() : undefined;
    const wire = rpcTransport === 'http' ? 'http' : 'framed';
    logger.info(
      { rpcTransport },
      rpcTransport === 'in-process' ? 'modules call each other in process (RPC_TRANSPORT=http or framed for a loopback socket)' : `modules call each other over loopback ${rpcTransport === 'http' ? 'HTTP' : 'framed connections'}`,
    );
    const modules = new Map<AnyServiceDescriptor, ServiceModule>();
    const urls = new Map<string, string>();
    const demo = { created: [] as string[], logins: [] as string[] };
    for (const descriptor of registry.startOrder) {
      const { config, overrides } = configs.get(descriptor) as { config: unknown; overrides: Record<string, unknown> };
      if (descriptor.edge && options.seedDemo) {
        for (const [seeded, module] of modules) {
          const result = await seeded.seedDemo?.(module);
          demo.created.push(...(result?.created ?? []));
          demo.logins.push(...(result?.logins ?? []));
        }
      }
      progress(`starting the ${descriptor.name} service`);
      const discovery = new StaticDiscovery(Object.fromEntries(registry.callees(descriptor).map((callee) => [callee.name, [urls.get(callee.name) as string]])));
      const module = composeModule({
        registry,
        descriptor,
        config,
        observability: observabilities.get(descriptor) as Observability,
        engine,
        bus,
        discovery,
        rpc: createRpcConnector({ discovery, inProcess: hub, wire }),
        environment,
        overrides,
      });
      await module.start({ background: true });
      const { host, port } = (config as { http: { host: string; port: number } }).http;
      await module.server.listen({ host, port });
      lifecycle.add({ name: descriptor.name, close: () => module.close() });
      modules.set(descriptor, module);
      urls.set(descriptor.name, urlOf(module.server.server.address()));
    }

    const edge = registry.startOrder.find((descriptor) => descriptor.edge);
    return {
      gatewayUrl: edge ? (urls.get(edge.name) as string) : '',
      urls,
      rpcTransport,
      engine,
      dataDir: database.dataDir,
      bus,
      logger,
      demo,
      module<Descriptor extends AnyServiceDescriptor>(descriptor: Descriptor) {
        const module = modules.get(descriptor);
        if (!module) throw new Error(`service ${descriptor.name} is not part of this platform`);
        return module as ModuleOf<Descriptor>;
      },
      urlOf(service) {
        const url = urls.get(service);
        if (!url) throw new Error(`service ${service} is not part of this platform`);
        return url;
      },
      close: () => lifecycle.close(),
    };
  } catch (error) {
    await lifecycle.close();
    throw error;
  }
}
