import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { blobRpc } from '@carshare/contracts';
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
import type { BlobDatabase } from './adapters/blob-database.ts';
import { SqlItemStore } from './adapters/sql-item-store.ts';
import { blobRpcHandlers } from './api/rpc-handlers.ts';
import type { BlobConfig } from './config.ts';
import { createBlobService, type BlobService } from './blob-service.ts';

// Found through the package, not relative to this file: `npm start` runs a bundle in dist/.
export const blobMigrationsDir = join(dirname(createRequire(import.meta.url).resolve('@carshare/blob-service/package.json')), 'migrations');

export interface BlobModuleDeps {
  config: BlobConfig;
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

export interface BlobModule {
  name: 'blob';
  server: HttpServer;
  service: BlobService;
  start(options?: { background: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** The blob service wired to its ports: a library first, so `carshare up` and `carshare service blob` share it. */
export function createBlobModule(deps: BlobModuleDeps): BlobModule {
  const { config, observability, clock } = deps;
  const database = deps.database as ServiceDatabase<BlobDatabase>;
  const service = createBlobService({ items: new SqlItemStore(database.db), clock, ids: deps.ids });
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
  rpc.serve(server, blobRpc, blobRpcHandlers(service), { observability, authenticate: (token) => verifier.verify(token) });

  return {
    name: 'blob',
    server,
    service,
    async start() {
      await database.migrate(blobMigrationsDir);
      await server.ready();
    },
    async close() {
      await server.close();
    },
  };
}
