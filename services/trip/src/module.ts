import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { tripRpc } from '@carshare/contracts';
import type { Observability } from '@carshare/observability';
import {
  createHttpServer,
  createRemoteAccessTokenVerifier,
  createRpcConnector,
  type Clock,
  type Discovery,
  type HttpServer,
  type IdGenerator,
  type RpcConnector,
} from '@carshare/platform';
import type { ServiceDatabase } from '@carshare/storage';
import type { TripDatabase } from './adapters/trip-database.ts';
import { SqlItemStore } from './adapters/sql-item-store.ts';
import { tripRpcHandlers } from './api/rpc-handlers.ts';
import type { TripConfig } from './config.ts';
import { createTripService, type TripService } from './trip-service.ts';

// Found through the package, not relative to this file: `npm start` runs a bundle in dist/.
export const tripMigrationsDir = join(dirname(createRequire(import.meta.url).resolve('@carshare/trip-service/package.json')), 'migrations');

export interface TripModuleDeps {
  config: TripConfig;
  observability: Observability;
  database: ServiceDatabase;
  /** Finds the user service, whose published keys verify callers' access tokens. */
  discovery: Discovery;
  clock: Clock;
  ids: IdGenerator;
  /**
   * Serves the contract (and makes clients of the services this one calls): over HTTP, and in
   * process too when the composition runs its callers in the same process (ADR 0011).
   */
  rpc?: RpcConnector;
}

export interface TripModule {
  name: 'trip';
  server: HttpServer;
  service: TripService;
  start(options?: { background: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** The trip service wired to its ports: a library first, so `carshare up` and `carshare service trip` share it. */
export function createTripModule(deps: TripModuleDeps): TripModule {
  const { config, observability, clock } = deps;
  const database = deps.database as ServiceDatabase<TripDatabase>;
  const service = createTripService({ items: new SqlItemStore(database.db), clock, ids: deps.ids });
  const verifier = createRemoteAccessTokenVerifier({ discovery: deps.discovery, clock });

  const server = createHttpServer({
    observability,
    clock,
    errorStyle: 'rpc',
    bodyLimitBytes: config.http.bodyLimitBytes,
    defaultDeadlineMs: config.http.defaultDeadlineMs,
    readiness: [{ name: 'database', check: () => database.ping() }],
  });
  const rpc = deps.rpc ?? createRpcConnector({ discovery: deps.discovery });
  rpc.serve(server, tripRpc, tripRpcHandlers(service), { observability, authenticate: (token) => verifier.verify(token) });

  return {
    name: 'trip',
    server,
    service,
    async start() {
      await database.migrate(tripMigrationsDir);
      await server.ready();
    },
    async close() {
      await server.close();
    },
  };
}
