import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { analyticsRpc } from '@carshare/contracts';
import { createServiceMessaging, deadLetterRpcHandlers, migrateMessagingTables, type EventBus, type ServiceMessaging, type Subscription } from '@carshare/messaging';
import type { Observability } from '@carshare/observability';
import {
  createHttpServer,
  createRpcConnector,
  systemClock,
  systemScheduler,
  type Clock,
  type Discovery,
  type HttpServer,
  type RpcConnector,
  type Scheduler,
} from '@carshare/platform';
import type { ServiceDatabase } from '@carshare/storage';
import type { AnalyticsDatabase } from './adapters/analytics-database.ts';
import { SqlStatsStore } from './adapters/sql-stats-store.ts';
import { AnalyticsMetrics } from './analytics-metrics.ts';
import { createAnalyticsService, type AnalyticsService } from './analytics-service.ts';
import { subscribeProjections } from './api/event-handlers.ts';
import { analyticsRpcHandlers } from './api/rpc-handlers.ts';
import type { AnalyticsConfig } from './config.ts';
import { ProjectionWriter } from './projection-writer.ts';
import type { ProjectedBatch, StatsStore } from './ports.ts';

// Found through the package, not relative to this file: `npm start` runs a bundle in dist/.
export const analyticsMigrationsDir = join(dirname(createRequire(import.meta.url).resolve('@carshare/analytics-service/package.json')), 'migrations');

export interface AnalyticsModuleDeps {
  config: AnalyticsConfig;
  observability: Observability;
  database: ServiceDatabase;
  /** Where the consumer groups read every projection's events. */
  bus: EventBus;
  /** True on PostgreSQL, where several instances share the tables. */
  concurrentRelays: boolean;
  /** Finds the services this one calls (none: callers arrive with signed identities, ADR 0012). */
  discovery: Discovery;
  clock?: Clock;
  scheduler?: Scheduler;
  /**
   * Serves the contract (and makes clients of the services this one calls): over HTTP, and in
   * process too when the composition runs its callers in the same process (ADR 0011).
   */
  rpc?: RpcConnector;
  /** Told about every committed projection batch (the bench measures lag with it). */
  onCommitted?: (batch: ProjectedBatch, committedAt: number) => void;
}

export interface AnalyticsModule {
  name: 'analytics';
  server: HttpServer;
  service: AnalyticsService;
  stats: StatsStore;
  messaging: ServiceMessaging;
  writer: ProjectionWriter;
  start(options?: { background: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** The analytics service wired to its ports: a library first, so `carshare up` and `carshare service analytics` share it. */
export function createAnalyticsModule(deps: AnalyticsModuleDeps): AnalyticsModule {
  const { config, observability } = deps;
  const clock = deps.clock ?? systemClock;
  const scheduler = deps.scheduler ?? systemScheduler;
  const database = deps.database as ServiceDatabase<AnalyticsDatabase>;
  const { registry } = observability.metrics;
  const messaging = createServiceMessaging({ database, bus: deps.bus, concurrentRelays: deps.concurrentRelays, registry, logger: observability.logger });
  const stats = new SqlStatsStore(database, { conversionWindowMs: config.conversion.windowMinutes * 60_000 });
  const metrics = new AnalyticsMetrics(registry, {
    activeTrips: () => stats.currentLevels('active_trips', 'category'),
    carsOffline: () => stats.currentLevel('cars_offline'),
    fleetCars: () => stats.currentLevels('fleet_size', 'category'),
  });
  const writer = new ProjectionWriter({
    store: stats,
    clock,
    maxBatch: config.consumers.maxBatch,
    gatherMs: config.consumers.gatherMs,
    scheduler,
    onCommitted(batch, groups, committedAt) {
      metrics.committed(batch, groups, committedAt);
      deps.onCommitted?.(batch, committedAt);
    },
  });
  const service = createAnalyticsService({ stats, clock }, { archiveRetentionDays: config.archive.retentionDays, sweepBatch: config.archive.sweepBatch });

  const server = createHttpServer({
    observability,
    clock,
    errorStyle: 'rpc',
    bodyLimitBytes: config.http.bodyLimitBytes,
    defaultDeadlineMs: config.http.defaultDeadlineMs,
    readiness: [{ name: 'database', check: () => database.ping() }],
  });
  const rpc = deps.rpc ?? createRpcConnector({ discovery: deps.discovery });
  rpc.serve(server, analyticsRpc, { ...analyticsRpcHandlers(service), ...deadLetterRpcHandlers(messaging.deadLetterAdmin) }, { observability });

  let subscriptions: Subscription[] = [];
  let sweepTimer: unknown;
  let stopped = false;
  function scheduleSweep(): void {
    sweepTimer = scheduler.setTimeout(() => {
      service
        .sweepArchive()
        .then((removed) => {
          if (removed > 0) observability.logger.info({ removed, retentionDays: config.archive.retentionDays }, 'archived events past retention swept');
        })
        .catch((error: unknown) => observability.logger.error({ err: error }, 'archive sweep failed'))
        .finally(() => {
          if (!stopped) scheduleSweep();
        });
    }, config.archive.sweepIntervalMs);
    (sweepTimer as { unref?: () => void }).unref?.();
  }

  return {
    name: 'analytics',
    server,
    service,
    stats,
    messaging,
    writer,
    async start(options = { background: true }) {
      await database.migrate(analyticsMigrationsDir);
      await migrateMessagingTables(database);
      await server.ready();
      if (options.background) {
        // Analytics publishes nothing: no outbox relay to start, only its consumers and the sweeper.
        subscriptions = await subscribeProjections(deps.bus, messaging, writer, { concurrency: config.consumers.concurrency });
        scheduleSweep();
      }
    },
    async close() {
      stopped = true;
      if (sweepTimer !== undefined) scheduler.clearTimeout(sweepTimer);
      await server.close();
      // Handlers waiting for a gathered batch are let through before their consumers close.
      writer.flush();
      await Promise.all(subscriptions.splice(0).map((subscription) => subscription.close()));
      await messaging.stop();
    },
  };
}
