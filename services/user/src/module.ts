import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { userRpc } from '@carshare/contracts';
import type { Observability } from '@carshare/observability';
import {
  createHttpServer,
  createRpcConnector,
  systemClock,
  uuidV7Ids,
  type Clock,
  type HttpServer,
  type IdGenerator,
  type RpcConnector,
} from '@carshare/platform';
import { createEventFactory, createServiceMessaging, deadLetterRpcHandlers, migrateMessagingTables, type EventBus, type ServiceMessaging } from '@carshare/messaging';
import type { ServiceDatabase } from '@carshare/storage';
import type { Kysely } from 'kysely';
import { Argon2PasswordHasher } from './adapters/argon2-password-hasher.ts';
import { JoseAccessTokenSigner } from './adapters/jose-access-token-signer.ts';
import { signingKeyMetrics } from './adapters/signing-key-metrics.ts';
import { SigningKeyVault } from './adapters/signing-key-vault.ts';
import { shippedCommonPasswords } from './adapters/shipped-common-passwords.ts';
import { SmtpMailRelay } from './adapters/smtp-mail-relay.ts';
import { SqlAttemptCountStore } from './adapters/sql-attempt-count-store.ts';
import { SqlKnownDeviceStore } from './adapters/sql-known-device-store.ts';
import { SqlMailOutbox } from './adapters/sql-mail-outbox.ts';
import { SqlMailTokenStore } from './adapters/sql-mail-token-store.ts';
import { SqlRefreshTokenStore } from './adapters/sql-refresh-token-store.ts';
import { SqlUnitOfWork } from './adapters/sql-unit-of-work.ts';
import { SqlUserStore } from './adapters/sql-user-store.ts';
import { UserReadCache } from './adapters/user-read-cache.ts';
import type { UserDatabase } from './adapters/user-database.ts';
import { userRpcHandlers } from './api/rpc-handlers.ts';
import { accountSecurityOf, type UserConfig } from './config.ts';
import type { PasswordHasher } from './ports.ts';
import { createUserService, type UserService } from './user-service.ts';

// Found through the package, not relative to this file: `npm start` runs a bundle in dist/.
export const userMigrationsDir = join(dirname(createRequire(import.meta.url).resolve('@carshare/user-service/package.json')), 'migrations');

export interface UserModuleDeps {
  config: UserConfig;
  observability: Observability;
  database: ServiceDatabase;
  /** Where this service's events go (its outbox relay publishes to it). */
  bus: EventBus;
  /** True on PostgreSQL, where several instances' relays share the outbox. */
  concurrentRelays: boolean;
  clock?: Clock;
  ids?: IdGenerator;
  /** Tests swap argon2 (~20 ms per hash) for something cheaper where hashing is not the point. */
  passwords?: PasswordHasher;
  /** Where its RPC contract is served: its HTTP server, plus in process when the composition says so. */
  rpc?: RpcConnector;
}

export interface UserModule {
  name: 'user';
  server: HttpServer;
  users: UserService;
  signer: JoseAccessTokenSigner;
  messaging: ServiceMessaging;
  /** The mail the service has asked to send: the embedded outbox (`carshare mail list`). */
  mailOutbox: SqlMailOutbox;
  /** Sends the outbox over SMTP when `SMTP_URL` is set; undefined when mail stays local. */
  mailRelay: SmtpMailRelay | undefined;
  /**
   * Migrates the schema and loads signing keys; the server answers only after this. One-off
   * commands (the CLI) pass `background: false`: their outbox rows wait for the service's relay.
   */
  start(options?: { background: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** The user service wired to its ports: a library first, so `carshare up` and `main.ts` share it. */
export function createUserModule(deps: UserModuleDeps): UserModule {
  const { config, observability } = deps;
  const database = deps.database as ServiceDatabase<UserDatabase>;
  const db = database.db;
  const clock = deps.clock ?? systemClock;
  const ids = deps.ids ?? uuidV7Ids;
  const signer = new JoseAccessTokenSigner(database, clock, ids, {
    accessTokenTtlSeconds: config.auth.accessTokenTtlSeconds,
    reloadIntervalMs: config.auth.keyReloadIntervalMs,
    vault: new SigningKeyVault(config.auth.keyEncryptionKey),
    logger: observability.logger,
    metrics: signingKeyMetrics(observability.metrics.registry),
  });
  const messaging = createServiceMessaging({
    database,
    bus: deps.bus,
    concurrentRelays: deps.concurrentRelays,
    registry: observability.metrics.registry,
    logger: observability.logger,
  });
  const userStore = new SqlUserStore(db);
  const cacheLookups = observability.metrics.cacheLookups;
  const userCache = new UserReadCache(userStore, clock, {
    ...config.userCache,
    onLookup: (result) => cacheLookups.inc({ cache: 'user', result }),
  });
  const mailOutbox = new SqlMailOutbox(db, ids, () => clock.now());
  const mailRelay =
    config.mail.smtpUrl === undefined
      ? undefined
      : new SmtpMailRelay(mailOutbox, clock, { smtpUrl: config.mail.smtpUrl, from: config.mail.from, intervalMs: config.mail.relayIntervalMs, logger: observability.logger });
  const attempts = new SqlAttemptCountStore(db);
  // The longest a rule remembers a failure: counts older than that are garbage.
  const longestMemoryMs = Math.max(...Object.values(config.throttle).map((rule) => rule.forgetAfterMs));
  let pruneTimer: NodeJS.Timeout | undefined;
  const users = createUserService({
    users: userStore,
    userLookup: userCache,
    refreshTokens: new SqlRefreshTokenStore(db, (work) => database.transaction((trx) => work(trx as unknown as Kysely<UserDatabase>))),
    unitOfWork: new SqlUnitOfWork(database, messaging.outbox, { ids, now: () => clock.now() }, userCache),
    events: createEventFactory({ source: 'user', clock, ids }),
    passwords: deps.passwords ?? new Argon2PasswordHasher(observability.logger),
    accessTokens: signer,
    clock,
    ids,
    refreshTokenTtlMs: config.auth.refreshTokenTtlDays * 24 * 60 * 60 * 1000,
    attempts,
    devices: new SqlKnownDeviceStore(db),
    mailTokens: new SqlMailTokenStore(db),
    commonPasswords: shippedCommonPasswords,
    security: accountSecurityOf(config),
  });

  const server = createHttpServer({
    observability,
    clock,
    errorStyle: 'rpc',
    bodyLimitBytes: config.http.bodyLimitBytes,
    defaultDeadlineMs: config.http.defaultDeadlineMs,
    readiness: [{ name: 'database', check: () => database.ping() }],
  });
  const originOf = (span: Parameters<typeof observability.tracing.traceparentOf>[0]) => ({ traceparent: observability.tracing.traceparentOf(span) });
  (deps.rpc ?? createRpcConnector()).serve(
    server,
    userRpc,
    { ...userRpcHandlers(users, originOf), ...deadLetterRpcHandlers(messaging.deadLetterAdmin) },
    { observability },
  );
  server.get('/.well-known/jwks.json', async (_request, reply) => {
    void reply.header('cache-control', 'public, max-age=300');
    return signer.jwks();
  });

  return {
    name: 'user',
    server,
    users,
    signer,
    messaging,
    mailOutbox,
    mailRelay,
    async start(options = { background: true }) {
      await database.migrate(userMigrationsDir);
      await migrateMessagingTables(database);
      if (config.auth.keyEncryptionKey === undefined && config.database.url !== undefined) {
        // On a shared database the schema is readable by more than this service: say it once.
        observability.logger.warn('signing keys are stored unencrypted: set USER_KEY_ENCRYPTION_KEY (ADR 0006)');
      }
      await signer.start();
      await server.ready();
      if (options.background) {
        messaging.start();
        pruneTimer = setInterval(() => {
          attempts.prune(clock.now() - longestMemoryMs).catch((error: unknown) => observability.logger.warn({ err: error }, 'old login attempt counts were not pruned'));
        }, 10 * 60_000);
        pruneTimer.unref();
        if (mailRelay) mailRelay.start();
        else observability.logger.info('mail goes to the local outbox (SMTP_URL unset): `carshare mail list` shows it');
      }
    },
    async close() {
      clearInterval(pruneTimer);
      await server.close();
      await messaging.stop();
      await mailRelay?.stop();
      signer.stop();
    },
  };
}
