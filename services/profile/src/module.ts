import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { profileRpc } from '@carshare/contracts';
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
import type { ProfileDatabase } from './adapters/profile-database.ts';
import { SqlItemStore } from './adapters/sql-item-store.ts';
import { profileRpcHandlers } from './api/rpc-handlers.ts';
import type { ProfileConfig } from './config.ts';
import { createProfileService, type ProfileService } from './profile-service.ts';

// Found through the package, not relative to this file: `npm start` runs a bundle in dist/.
export const profileMigrationsDir = join(dirname(createRequire(import.meta.url).resolve('@carshare/profile-service/package.json')), 'migrations');

export interface ProfileModuleDeps {
  config: ProfileConfig;
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

export interface ProfileModule {
  name: 'profile';
  server: HttpServer;
  service: ProfileService;
  start(options?: { background: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** The profile service wired to its ports: a library first, so `carshare up` and `carshare service profile` share it. */
export function createProfileModule(deps: ProfileModuleDeps): ProfileModule {
  const { config, observability, clock } = deps;
  const database = deps.database as ServiceDatabase<ProfileDatabase>;
  const service = createProfileService({ items: new SqlItemStore(database.db), clock, ids: deps.ids });
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
  rpc.serve(server, profileRpc, profileRpcHandlers(service), { observability, authenticate: (token) => verifier.verify(token) });

  return {
    name: 'profile',
    server,
    service,
    async start() {
      await database.migrate(profileMigrationsDir);
      await server.ready();
    },
    async close() {
      await server.close();
    },
  };
}
