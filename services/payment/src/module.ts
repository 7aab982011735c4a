import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { paymentRpc } from '@carshare/contracts';
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
import type { PaymentDatabase } from './adapters/payment-database.ts';
import { SqlItemStore } from './adapters/sql-item-store.ts';
import { paymentRpcHandlers } from './api/rpc-handlers.ts';
import type { PaymentConfig } from './config.ts';
import { createPaymentService, type PaymentService } from './payment-service.ts';

// Found through the package, not relative to this file: `npm start` runs a bundle in dist/.
export const paymentMigrationsDir = join(dirname(createRequire(import.meta.url).resolve('@carshare/payment-service/package.json')), 'migrations');

export interface PaymentModuleDeps {
  config: PaymentConfig;
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

export interface PaymentModule {
  name: 'payment';
  server: HttpServer;
  service: PaymentService;
  start(options?: { background: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** The payment service wired to its ports: a library first, so `carshare up` and `carshare service payment` share it. */
export function createPaymentModule(deps: PaymentModuleDeps): PaymentModule {
  const { config, observability, clock } = deps;
  const database = deps.database as ServiceDatabase<PaymentDatabase>;
  const service = createPaymentService({ items: new SqlItemStore(database.db), clock, ids: deps.ids });
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
  rpc.serve(server, paymentRpc, paymentRpcHandlers(service), { observability, authenticate: (token) => verifier.verify(token) });

  return {
    name: 'payment',
    server,
    service,
    async start() {
      await database.migrate(paymentMigrationsDir);
      await server.ready();
    },
    async close() {
      await server.close();
    },
  };
}
