import type { RpcServiceContract } from '@carshare/contracts';
import type { EventBus } from '@carshare/messaging';
import type { Observability } from '@carshare/observability';
import type { Clock, Discovery, HotConfigSource, HttpServer, IdGenerator, RpcConnector } from '@carshare/platform';
import type { ServiceDatabase } from '@carshare/storage';
import type { ParseArgsConfig } from 'node:util';
import type { Static, TObject } from 'typebox';
import type { ServiceConfigShape } from './service-config.ts';

/** What every service module is, whatever it does: an HTTP server it owns, started and closed. */
export interface ServiceModule {
  readonly name: string;
  readonly server: HttpServer;
  /**
   * Gets the module ready to answer (schema migrated, keys loaded). Background work (outbox
   * relays, consumers, workers) starts only when `background` is true: one-off commands leave
   * their events in the outbox for the running service to relay.
   */
  start(options?: { background: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** What one service knows about the others: the gateway builds its downstream clients from it. */
export interface RegisteredService {
  readonly name: string;
  readonly defaultPort: number;
  /** The RPC contract it serves, if any. */
  readonly rpc: RpcServiceContract | undefined;
}

/** Everything a module is built from; the composition (embedded or one process) provides it. */
export interface ServiceDeps<Config> {
  config: Config;
  observability: Observability;
  /** Where the services it calls answer over HTTP (also the user service's published keys). */
  discovery: Discovery;
  /**
   * Serves its RPC contract (`rpc.serve`) and makes its clients of other services (`rpc.client`):
   * over HTTP, or in process when the composition runs the callee in the same process.
   */
  rpc: RpcConnector;
  /** This service's own schema; present when the descriptor declares migrations. */
  database: ServiceDatabase | undefined;
  /** Present when the descriptor declares `messaging`. */
  bus: EventBus | undefined;
  /** True on PostgreSQL, where several instances' relays share one outbox. */
  concurrentRelays: boolean;
  clock: Clock;
  ids: IdGenerator;
  /** Every registered service but this one. */
  services: readonly RegisteredService[];
  /** Re-reads the config for hot-reloadable keys when its file changes (CARSHARE_CONFIG). */
  configFile: { path: string; reload(): Config } | undefined;
  /**
   * The hot-reloadable keys from etcd (`ETCD_ENDPOINTS` set, ADR 0024): shared by every instance
   * and then the source instead of the file; undefined → the file (`configFile`) is the source.
   */
  configSource?: HotConfigSource | undefined;
}

/** A CLI command a service contributes (`carshare admin create …`), run against its module. */
export interface ServiceCommand<Module extends ServiceModule = ServiceModule> {
  /** Words after `carshare`, e.g. `['admin', 'create']`. */
  readonly words: readonly string[];
  readonly summary: string;
  /** Shown after the words in the usage, e.g. `--email E --password P`. */
  readonly usage?: string;
  readonly options?: ParseArgsConfig['options'];
  run(module: Module, values: Record<string, string | boolean | undefined>, say: (message: string) => void): Promise<void>;
}

export interface ServiceDescriptor<Schema extends TObject = TObject, Module extends ServiceModule = ServiceModule> extends ServiceConfigShape<Schema> {
  /** Lower-case; the schema name, the RPC path segment and the metrics' service label. */
  readonly name: string;
  /** `envPrefix` names its own environment variables: `<PREFIX>_HOST`, `<PREFIX>_PORT`, `<PREFIX>_URL`. */
  /** Forward-only SQL files; a service with none gets no database. */
  readonly migrationsDir?: string;
  /** Publishes or consumes events (outbox, inbox, dead letters): it gets the bus. */
  readonly messaging: boolean;
  readonly rpc?: RpcServiceContract;
  /** Services it calls; they start before it in the embedded platform. */
  readonly calls: readonly string[] | 'every service';
  /** The public front door: it listens last, on the public port. */
  readonly edge?: boolean;
  createModule(deps: ServiceDeps<Static<Schema>>): Module;
  /**
   * Demo data for `carshare up` and `carshare seed` (never `carshare service`, so no deployed
   * system has it). Idempotent; says what it created and how to log in with it.
   */
  seedDemo?(module: Module): Promise<{ created: string[]; logins: string[] }>;
  readonly commands?: readonly ServiceCommand<Module>[];
}

/** Identity with the types checked: a service's descriptor.ts is `export const xService = defineService({…})`. */
export function defineService<Schema extends TObject, Module extends ServiceModule>(
  descriptor: ServiceDescriptor<Schema, Module>,
): ServiceDescriptor<Schema, Module> {
  if (!/^[a-z][a-z0-9]*$/.test(descriptor.name)) throw new Error(`service name '${descriptor.name}' must be lower-case letters and digits`);
  if (!/^[A-Z][A-Z0-9_]*$/.test(descriptor.envPrefix)) throw new Error(`env prefix '${descriptor.envPrefix}' must be upper-case`);
  return descriptor;
}

/** A registry holds descriptors of every config and module type. */
export type AnyServiceDescriptor = ServiceDescriptor<any, any>;

export type ModuleOf<Descriptor> = Descriptor extends ServiceDescriptor<TObject, infer Module> ? Module : never;

export function registeredService(descriptor: AnyServiceDescriptor): RegisteredService {
  return { name: descriptor.name, defaultPort: descriptor.defaultPort, rpc: descriptor.rpc };
}

/** The module's database, for services that declared migrations (a wiring mistake otherwise). */
export function requireDatabase<DB>(deps: { database: ServiceDatabase | undefined }, service: string): ServiceDatabase<DB> {
  if (!deps.database) throw new Error(`${service} needs a database: give its descriptor a migrationsDir`);
  return deps.database as ServiceDatabase<DB>;
}

export function requireBus(deps: { bus: EventBus | undefined }, service: string): EventBus {
  if (!deps.bus) throw new Error(`${service} needs the event bus: set messaging: true in its descriptor`);
  return deps.bus;
}

/** A command was called wrongly: the CLI prints the message and the usage, and exits 2. */
export class CommandUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandUsageError';
  }
}
