import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { paymentRpc } from '@carshare/contracts';
import { createEventFactory, createServiceMessaging, deadLetterRpcHandlers, migrateMessagingTables, type EventBus, type ServiceMessaging } from '@carshare/messaging';
import type { Observability } from '@carshare/observability';
import {
  backoffDelay,
  createHttpServer,
  createRpcConnector,
  systemClock,
  systemScheduler,
  uuidV7Ids,
  type Clock,
  type Discovery,
  type HttpServer,
  type IdGenerator,
  type RpcConnector,
  type Scheduler,
} from '@carshare/platform';
import { createDownstreamPolicy } from '@carshare/resilience';
import type { ServiceDatabase } from '@carshare/storage';
import type { PaymentDatabase } from './adapters/payment-database.ts';
import { ResilientPaymentProvider } from './adapters/resilient-payment-provider.ts';
import { SimulatedPaymentProvider } from './adapters/simulated-payment-provider.ts';
import { SqlProcessorStore } from './adapters/simulated-processor-store.ts';
import { SqlFeeChargeStore } from './adapters/sql-fee-charge-store.ts';
import { SqlPaymentStore } from './adapters/sql-payment-store.ts';
import { SqlUnitOfWork } from './adapters/sql-unit-of-work.ts';
import { paymentRpcHandlers } from './api/rpc-handlers.ts';
import type { PaymentConfig } from './config.ts';
import { createPaymentService, type PaymentService } from './payment-service.ts';
import type { PaymentProvider } from './ports.ts';

// Found through the package, not relative to this file: `npm start` runs a bundle in dist/.
export const paymentMigrationsDir = join(dirname(createRequire(import.meta.url).resolve('@carshare/payment-service/package.json')), 'migrations');

export interface PaymentModuleDeps {
  config: PaymentConfig;
  observability: Observability;
  database: ServiceDatabase;
  /** Where this service's events go (its outbox relay publishes to it). */
  bus: EventBus;
  /** True on PostgreSQL, where several instances' relays share the outbox. */
  concurrentRelays: boolean;
  /** Finds the services this one calls (none yet: callers arrive with signed identities, ADR 0012). */
  discovery: Discovery;
  clock?: Clock;
  ids?: IdGenerator;
  scheduler?: Scheduler;
  /** The card processor; the simulated one from config when omitted. Tests pass their own. */
  provider?: PaymentProvider;
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
  messaging: ServiceMessaging;
  /** The processor as configured (before the resilience wrapper): drills flip its outage switch. */
  provider: PaymentProvider;
  start(options?: { background: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** The payment service wired to its ports: a library first, so `carshare up` and `carshare service payment` share it. */
export function createPaymentModule(deps: PaymentModuleDeps): PaymentModule {
  const { config, observability } = deps;
  const clock = deps.clock ?? systemClock;
  const ids = deps.ids ?? uuidV7Ids;
  const scheduler = deps.scheduler ?? systemScheduler;
  const database = deps.database as ServiceDatabase<PaymentDatabase>;
  const messaging = createServiceMessaging({
    database,
    bus: deps.bus,
    concurrentRelays: deps.concurrentRelays,
    registry: observability.metrics.registry,
    logger: observability.logger,
  });
  // The processor's books sit beside ours, in a schema of their own, so a killed payment process
  // finds its holds again (ADR 0027); a processor passed in by a test keeps its own state.
  const processorStore = deps.provider || config.provider.store === 'memory' ? undefined : new SqlProcessorStore(database, config.provider.schema);
  const provider =
    deps.provider ??
    new SimulatedPaymentProvider(
      { latencyMs: config.provider.latencyMs, declineRate: config.provider.declineRate, outage: config.provider.outage },
      processorStore && { store: processorStore },
    );
  const providerPolicy = createDownstreamPolicy('payment-provider', {}, { registry: observability.metrics.registry, logger: observability.logger });
  const retryPolicy = { initialMs: config.captureRetry.baseDelayMs, maxMs: config.captureRetry.maxDelayMs, factor: 2, jitter: 0.2 };
  const service = createPaymentService({
    payments: new SqlPaymentStore(database.db),
    fees: new SqlFeeChargeStore(database.db),
    unitOfWork: new SqlUnitOfWork(database, messaging.outbox),
    provider: new ResilientPaymentProvider(provider, providerPolicy, { timeoutMs: config.provider.timeoutMs }),
    events: createEventFactory({ source: 'payment', clock, ids }),
    clock,
    ids,
    currency: config.currency,
    captureRetryDelayMs: (attempt) => backoffDelay(attempt, retryPolicy),
  });

  const server = createHttpServer({
    observability,
    clock,
    errorStyle: 'rpc',
    bodyLimitBytes: config.http.bodyLimitBytes,
    defaultDeadlineMs: config.http.defaultDeadlineMs,
    readiness: [{ name: 'database', check: () => database.ping() }],
  });
  const rpc = deps.rpc ?? createRpcConnector({ discovery: deps.discovery });
  rpc.serve(
    server,
    paymentRpc,
    { ...paymentRpcHandlers(service), ...deadLetterRpcHandlers(messaging.deadLetterAdmin) },
    { observability },
  );

  let retryTimer: unknown;
  let stopped = false;
  function scheduleCaptureRetries(): void {
    retryTimer = scheduler.setTimeout(() => {
      service
        .retryDueCaptures()
        .catch((error: unknown) => observability.logger.error({ err: error }, 'capture retry round failed'))
        .finally(() => {
          if (!stopped) scheduleCaptureRetries();
        });
    }, config.captureRetry.intervalMs);
    (retryTimer as { unref?: () => void }).unref?.();
  }

  return {
    name: 'payment',
    server,
    service,
    messaging,
    provider,
    async start(options = { background: true }) {
      await database.migrate(paymentMigrationsDir);
      await migrateMessagingTables(database);
      await processorStore?.prepare();
      await server.ready();
      if (options.background) {
        messaging.start();
        scheduleCaptureRetries();
      }
    },
    async close() {
      stopped = true;
      if (retryTimer !== undefined) scheduler.clearTimeout(retryTimer);
      await server.close();
      await messaging.stop();
    },
  };
}
