import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { carRpc } from '@carshare/contracts';
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
import type { CarDatabase } from './adapters/car-database.ts';
import { SqlItemStore } from './adapters/sql-item-store.ts';
import { carRpcHandlers } from './api/rpc-handlers.ts';
import type { CarConfig } from './config.ts';
import { createCarService, type CarService } from './car-service.ts';

// Found through the package, not relative to this file: `npm start` runs a bundle in dist/.
export const carMigrationsDir = join(dirname(createRequire(import.meta.url).resolve('@carshare/car-service/package.json')), 'migrations');

export interface CarModuleDeps {
  config: CarConfig;
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

export interface CarModule {
  name: 'car';
  server: HttpServer;
  service: CarService;
  start(options?: { background: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** The car service wired to its ports: a library first, so `carshare up` and `carshare service car` share it. */
export function createCarModule(deps: CarModuleDeps): CarModule {
  const { config, observability, clock } = deps;
  const database = deps.database as ServiceDatabase<CarDatabase>;
  const service = createCarService({ items: new SqlItemStore(database.db), clock, ids: deps.ids });
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
  rpc.serve(server, carRpc, carRpcHandlers(service), { observability, authenticate: (token) => verifier.verify(token) });

  return {
    name: 'car',
    server,
    service,
    async start() {
      await database.migrate(carMigrationsDir);
      await server.ready();
    },
    async close() {
      await server.close();
    },
  };
}
