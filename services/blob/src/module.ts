import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { blobRpc, maxBlobBytes } from '@carshare/contracts';
import { createEventFactory, createServiceMessaging, deadLetterRpcHandlers, migrateMessagingTables, type EventBus, type ServiceMessaging } from '@carshare/messaging';
import type { Observability } from '@carshare/observability';
import {
  ConfigError,
  createHttpServer,
  createRpcConnector,
  systemScheduler,
  type Clock,
  type Discovery,
  type HttpServer,
  type IdGenerator,
  type RpcConnector,
  type Scheduler,
} from '@carshare/platform';
import type { ServiceDatabase } from '@carshare/storage';
import type { BlobDatabase } from './adapters/blob-database.ts';
import { FilesBlobStore } from './adapters/files-blob-store.ts';
import { S3BlobStore } from './adapters/s3-blob-store.ts';
import { SharpImageCleaner } from './adapters/sharp-image-cleaner.ts';
import { SqlBlobRecordStore } from './adapters/sql-blob-record-store.ts';
import { SqlUnitOfWork } from './adapters/sql-unit-of-work.ts';
import { blobRpcHandlers } from './api/rpc-handlers.ts';
import { createBlobService, type BlobService } from './blob-service.ts';
import type { BlobConfig } from './config.ts';
import { PendingBlobSweeper } from './pending-blob-sweeper.ts';
import type { BlobStore, ImageCleaner, SignedUrlVerifier } from './ports.ts';

// Found through the package, not relative to this file: `npm start` runs a bundle in dist/.
export const blobMigrationsDir = join(dirname(createRequire(import.meta.url).resolve('@carshare/blob-service/package.json')), 'migrations');

/**
 * PutSignedObject carries up to 10 MiB as base64 in JSON (~13.4 MiB): this service's RPC port
 * takes bodies that large. It is internal; the gateway's own limit applies to the upload route only.
 */
const rpcBodyLimitBytes = Math.ceil(maxBlobBytes / 3) * 4 + 64 * 1024;

export interface BlobModuleDeps {
  config: BlobConfig;
  observability: Observability;
  database: ServiceDatabase;
  /** Where blob.uploaded and blob.deleted go (its outbox relay publishes to it). */
  bus: EventBus;
  /** True on PostgreSQL, where several instances' relays share the outbox. */
  concurrentRelays: boolean;
  discovery: Discovery;
  clock: Clock;
  ids: IdGenerator;
  /** Serves the contract: over HTTP, and in process when the composition says so (ADR 0011). */
  rpc?: RpcConnector;
  /** Tests drive the sweeper's timer. */
  scheduler?: Scheduler;
  images?: ImageCleaner;
}

export interface BlobModule {
  name: 'blob';
  server: HttpServer;
  service: BlobService;
  store: BlobStore;
  messaging: ServiceMessaging;
  sweeper: PendingBlobSweeper;
  start(options?: { background: boolean }): Promise<void>;
  close(): Promise<void>;
}

interface ChosenStore {
  store: BlobStore;
  signedUrls: SignedUrlVerifier | undefined;
  ensure(): Promise<void>;
  ping(): Promise<void>;
  close(): void;
}

/** S3 when an endpoint is set, else files under the data directory (said once at start). */
function chooseStore(deps: BlobModuleDeps): ChosenStore {
  const { config, clock, ids, observability } = deps;
  const { s3 } = config.store;
  if (s3.endpoint !== undefined) {
    if (s3.accessKeyId === undefined) throw new ConfigError('S3_ACCESS_KEY_ID is required when S3_ENDPOINT is set');
    if (s3.secretAccessKey === undefined) throw new ConfigError('S3_SECRET_ACCESS_KEY is required when S3_ENDPOINT is set');
    const store = new S3BlobStore({ ...s3, endpoint: s3.endpoint, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, clock });
    return { store, signedUrls: undefined, ensure: () => store.ensureBucket(), ping: () => store.ping(), close: () => store.close() };
  }
  const directory = config.store.filesDirectory ?? join(config.database.dataDir, 'blobs');
  let signingKey: Uint8Array;
  if (config.store.urlSigningKey === undefined) {
    signingKey = randomBytes(32);
    if (config.database.url !== undefined) {
      // Several instances each with a key of their own refuse each other's URLs.
      observability.logger.warn('signed blob URLs use a random key per start: set BLOB_URL_SIGNING_KEY, the same on every blob instance');
    }
  } else {
    signingKey = Buffer.from(config.store.urlSigningKey, 'base64url');
  }
  const store = new FilesBlobStore({ directory, signingKey, publicBaseUrl: config.store.publicBaseUrl, clock, ids });
  return { store, signedUrls: store, ensure: async () => undefined, ping: async () => undefined, close: () => undefined };
}

/** The blob service wired to its ports: a library first, so `carshare up` and `carshare service blob` share it. */
export function createBlobModule(deps: BlobModuleDeps): BlobModule {
  const { config, observability, clock } = deps;
  const database = deps.database as ServiceDatabase<BlobDatabase>;
  const chosen = chooseStore(deps);
  const messaging = createServiceMessaging({
    database,
    bus: deps.bus,
    concurrentRelays: deps.concurrentRelays,
    registry: observability.metrics.registry,
    logger: observability.logger,
  });
  const service = createBlobService({
    blobs: new SqlBlobRecordStore(database.db),
    unitOfWork: new SqlUnitOfWork(database, messaging.outbox),
    store: chosen.store,
    signedUrls: chosen.signedUrls,
    images: deps.images ?? new SharpImageCleaner({ maxInputPixels: config.uploads.maxImagePixels }),
    events: createEventFactory({ source: 'blob', clock, ids: deps.ids }),
    clock,
    ids: deps.ids,
    uploadUrlTtlMs: config.uploads.uploadUrlTtlSeconds * 1000,
    downloadUrlTtlMs: config.uploads.downloadUrlTtlSeconds * 1000,
    pendingTtlMs: config.uploads.pendingTtlSeconds * 1000,
  });
  const sweeper = new PendingBlobSweeper({
    sweep: () => service.sweepPending(),
    scheduler: deps.scheduler ?? systemScheduler,
    intervalMs: config.uploads.sweepIntervalSeconds * 1000,
    logger: observability.logger,
  });

  const server = createHttpServer({
    observability,
    clock,
    errorStyle: 'rpc',
    bodyLimitBytes: Math.max(config.http.bodyLimitBytes, rpcBodyLimitBytes),
    defaultDeadlineMs: config.http.defaultDeadlineMs,
    readiness: [
      { name: 'database', check: () => database.ping() },
      { name: 'object store', check: () => chosen.ping() },
    ],
  });
  const rpc = deps.rpc ?? createRpcConnector({ discovery: deps.discovery });
  // Who calls comes in the calling service's signed identity (ADR 0012), the end user with it.
  rpc.serve(server, blobRpc, { ...blobRpcHandlers(service), ...deadLetterRpcHandlers(messaging.deadLetterAdmin) }, { observability });

  return {
    name: 'blob',
    server,
    service,
    store: chosen.store,
    messaging,
    sweeper,
    async start(options = { background: true }) {
      await database.migrate(blobMigrationsDir);
      await migrateMessagingTables(database);
      await chosen.ensure();
      observability.logger.info({ store: chosen.store.kind }, `blobs are kept in the ${chosen.store.kind} store`);
      await server.ready();
      if (options.background) {
        messaging.start();
        sweeper.start();
      }
    },
    async close() {
      await server.close();
      await sweeper.stop();
      await messaging.stop();
      chosen.close();
    },
  };
}
