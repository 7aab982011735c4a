import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { analyticsRpc } from '@carshare/contracts';
import type { Observability } from '@carshare/observability';
import {
  createHttpServer,
  createRpcConnector,
  type Clock,
  type Discovery,
  type HttpServer,
  type IdGenerator,
  type RpcConnector,
} from '@carshare/platform';
import type { ServiceDatabase } from '@carshare/storage';
import type { AnalyticsDatabase } from './adapters/analytics-database.ts';
import { SqlItemStore } from './adapters/sql-item-store.ts';
import { analyticsRpcHandlers } from './api/rpc-handlers.ts';
import type { AnalyticsConfig } from './config.ts';
import { createAnalyticsService, type AnalyticsService } from './analytics-service.ts';

// Found through the package, not relative to this file: `npm start` runs a bundle in dist/.
export const analyticsMigrationsDir = join(dirname(createRequire(import.meta.url).resolve('@carshare/analytics-service/package.json')), 'migrations');

export interface AnalyticsModuleDeps {
  config: AnalyticsConfig;
  observability: Observability;
  database: ServiceDatabase;
  /** Finds the services this one calls (callers arrive with signed identities, ADR 0012). */
  discovery: Discovery;
  clock: Clock;
  ids: IdGenerator;
  /**
   * Serves the contract (and makes clients of the services this one calls): over HTTP, and in
   * process too when the composition runs its callers in the same process (ADR 0011).
   */
  rpc?: RpcConnector;
}

export interface AnalyticsModule {
  name: 'analytics';
  server: HttpServer;
  service: AnalyticsService;
  start(options?: { background: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** The analytics service wired to its ports: a library first, so `carshare up` and `carshare service analytics` share it. */
export function createAnalyticsModule(deps: AnalyticsModuleDeps): AnalyticsModule {
  const { config, observability, clock } = deps;
  const database = deps.database as ServiceDatabase<AnalyticsDatabase>;
  const service = createAnalyticsService({ items: new SqlItemStore(database.db), clock, ids: deps.ids });

  const server = createHttpServer({
    observability,
    clock,
    errorStyle: 'rpc',
    bodyLimitBytes: config.http.bodyLimitBytes,
    defaultDeadlineMs: config.http.defaultDeadlineMs,
    readiness: [{ name: 'database', check: () => database.ping() }],
  });
  const rpc = deps.rpc ?? createRpcConnector({ discovery: deps.discovery });
  rpc.serve(server, analyticsRpc, analyticsRpcHandlers(service), { observability });

  return {
    name: 'analytics',
    server,
    service,
    async start() {
      await database.migrate(analyticsMigrationsDir);
      await server.ready();
    },
    async close() {
      await server.close();
    },
  };
}
