import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { blobRpc, profileRpc } from '@carshare/contracts';
import { createEventFactory, createServiceMessaging, deadLetterRpcHandlers, migrateMessagingTables, type EventBus, type ServiceMessaging } from '@carshare/messaging';
import type { Observability } from '@carshare/observability';
import {
  createHttpServer,
  createRpcConnector,
  systemClock,
  uuidV7Ids,
  type Clock,
  type Discovery,
  type HttpServer,
  type IdGenerator,
  type RpcConnector,
} from '@carshare/platform';
import { createDownstreamPolicy } from '@carshare/resilience';
import type { ServiceDatabase } from '@carshare/storage';
import type { Kysely } from 'kysely';
import type { ProfileDatabase } from './adapters/profile-database.ts';
import { SimulatedOcrProvider } from './adapters/simulated-ocr-provider.ts';
import { SqlAuditLog } from './adapters/sql-audit-log.ts';
import { SqlOcrJobQueue } from './adapters/sql-ocr-job-queue.ts';
import { SqlProfileStore } from './adapters/sql-profile-store.ts';
import { SqlUnitOfWork, transactionOn } from './adapters/sql-unit-of-work.ts';
import { TesseractOcrProvider } from './adapters/tesseract-ocr-provider.ts';
import { ocrConsumerGroup, queueOcrJob } from './api/event-handlers.ts';
import { profileRpcHandlers } from './api/rpc-handlers.ts';
import type { ProfileConfig } from './config.ts';
import { OcrWorker } from './ocr-worker.ts';
import type { BlobClient, OcrProvider } from './ports.ts';
import { createProfileService, type ProfileService } from './profile-service.ts';

// Found through the package, not relative to this file: `npm start` runs a bundle in dist/.
export const profileMigrationsDir = join(dirname(createRequire(import.meta.url).resolve('@carshare/profile-service/package.json')), 'migrations');

export interface ProfileModuleDeps {
  config: ProfileConfig;
  observability: Observability;
  database: ServiceDatabase;
  /** Where this service's events go, and where the OCR worker's consumer group reads profile.submitted. */
  bus: EventBus;
  /** True on PostgreSQL, where several instances' relays share the outbox. */
  concurrentRelays: boolean;
  /** Finds the blob service. */
  discovery: Discovery;
  clock?: Clock;
  ids?: IdGenerator;
  /** Serves the contract and makes the blob client: over HTTP, or in process when composed so (ADR 0011). */
  rpc?: RpcConnector;
  /** Tests replace the blob service or the OCR engine; otherwise RPC and config decide. */
  blobs?: BlobClient;
  ocrProvider?: OcrProvider;
}

export interface ProfileModule {
  name: 'profile';
  server: HttpServer;
  service: ProfileService;
  messaging: ServiceMessaging;
  ocrWorker: OcrWorker;
  ocrProvider: OcrProvider;
  start(options?: { background: boolean }): Promise<void>;
  close(): Promise<void>;
}

function ocrProviderFrom(config: ProfileConfig): OcrProvider {
  switch (config.ocr.provider) {
    case 'tesseract':
      return new TesseractOcrProvider();
    case 'simulated':
      return new SimulatedOcrProvider(config.ocr.simulated);
  }
}

/** The profile service wired to its ports: a library first, so `carshare up` and `carshare service profile` share it. */
export function createProfileModule(deps: ProfileModuleDeps): ProfileModule {
  const { config, observability } = deps;
  const { logger, metrics } = observability;
  const clock = deps.clock ?? systemClock;
  const ids = deps.ids ?? uuidV7Ids;
  const database = deps.database as ServiceDatabase<ProfileDatabase>;
  const messaging = createServiceMessaging({ database, bus: deps.bus, concurrentRelays: deps.concurrentRelays, registry: metrics.registry, logger });
  const rpc = deps.rpc ?? createRpcConnector({ discovery: deps.discovery });
  const blobs =
    deps.blobs ??
    rpc.client(blobRpc, { observability, clock, policy: createDownstreamPolicy('blob', {}, { registry: metrics.registry, logger }) });
  const ocrProvider = deps.ocrProvider ?? ocrProviderFrom(config);
  const profiles = new SqlProfileStore(database.db);
  const service = createProfileService({
    profiles,
    audit: new SqlAuditLog(database.db),
    unitOfWork: new SqlUnitOfWork(database, messaging.outbox),
    blobs,
    events: createEventFactory({ source: 'profile', clock, ids }),
    clock,
    ids,
    verification: config.verification,
  });
  const ocrWorker = new OcrWorker({
    jobs: new SqlOcrJobQueue(database.db),
    profiles,
    blobs,
    provider: ocrProvider,
    // One read at a time is what two cores can afford; no retries inside a read (the job retries).
    policy: createDownstreamPolicy(
      `ocr-${ocrProvider.name}`,
      { breaker: config.ocr.breaker, retry: { maxAttempts: 1 }, bulkhead: { maxConcurrent: 1, maxQueued: config.ocr.batchSize } },
      { registry: metrics.registry, logger },
    ),
    service,
    observability,
    clock,
    settings: config.ocr,
  });
  const server = createHttpServer({
    observability,
    clock,
    errorStyle: 'rpc',
    bodyLimitBytes: config.http.bodyLimitBytes,
    defaultDeadlineMs: config.http.defaultDeadlineMs,
    readiness: [{ name: 'database', check: () => database.ping() }],
  });
  // Who calls comes in the calling service's signed identity, the end user with it (ADR 0012).
  rpc.serve(server, profileRpc, { ...profileRpcHandlers(service), ...deadLetterRpcHandlers(messaging.deadLetterAdmin) }, { observability });

  let sweepTimer: ReturnType<typeof setInterval> | undefined;
  const sweep = () =>
    service.expireVerifications().then(
      (expired) => expired > 0 && logger.info({ expired }, 'verifications ended with their licence'),
      (error: unknown) => logger.error({ err: error }, 'expiry sweep failed'),
    );

  return {
    name: 'profile',
    server,
    service,
    messaging,
    ocrWorker,
    ocrProvider,
    async start(options = { background: true }) {
      await database.migrate(profileMigrationsDir);
      await migrateMessagingTables(database);
      await server.ready();
      if (!options.background) return;
      messaging.start();
      await messaging.subscribe(ocrConsumerGroup, ['profile.submitted'], async (event, trx) => {
        await queueOcrJob(event, transactionOn(trx as unknown as Kysely<ProfileDatabase>, messaging.outbox), clock.now());
        // Woken after the inbox transaction commits would be exact; a poll a moment early finds nothing and sleeps.
        setImmediate(() => ocrWorker.wake());
      });
      if (config.ocr.worker) ocrWorker.start();
      void sweep();
      sweepTimer = setInterval(() => void sweep(), config.expirySweep.intervalMs);
      sweepTimer.unref();
    },
    async close() {
      if (sweepTimer) clearInterval(sweepTimer);
      await server.close();
      await messaging.stop();
      await ocrWorker.stop();
      await ocrProvider.close();
    },
  };
}
