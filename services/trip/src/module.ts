import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { carRpc, paymentRpc, profileRpc, tripRpc, userRpc } from '@carshare/contracts';
import { createEventFactory, createServiceMessaging, deadLetterRpcHandlers, migrateMessagingTables, type EventBus, type ServiceMessaging } from '@carshare/messaging';
import type { Observability } from '@carshare/observability';
import {
  createHttpServer,
  createRemoteAccessTokenVerifier,
  createRpcConnector,
  LiveConfig,
  systemScheduler,
  watchConfigFile,
  type Clock,
  type Discovery,
  type HttpServer,
  type IdGenerator,
  type RpcConnector,
  type Scheduler,
} from '@carshare/platform';
import { migrateSagaTables, SagaRunner } from '@carshare/saga';
import type { ServiceDatabase } from '@carshare/storage';
import type { Kysely } from 'kysely';
import { rpcAccountPort, rpcCarPort, rpcPaymentPort, rpcProfilePort } from './adapters/rpc-downstreams.ts';
import { sqlFailedStartFees } from './adapters/failed-start-fees.ts';
import { SqlReservationStore } from './adapters/sql-reservation-store.ts';
import { SqlUnitOfWork } from './adapters/sql-unit-of-work.ts';
import type { TripDatabase } from './adapters/trip-database.ts';
import { tripRpcHandlers, type TripUseCases } from './api/rpc-handlers.ts';
import type { TripConfig } from './config.ts';
import type { AccountPort, CarPort, PaymentPort, ProfilePort, TripSettings } from './ports.ts';
import { createFinishTrip, defineFinishTripSaga, retryPendingCaptures } from './finish-trip.ts';
import { createParking, definePauseTripSaga, defineResumeTripSaga } from './pause-trip.ts';
import { createPricePreview } from './price-preview.ts';
import { createTripQueries } from './trip-queries.ts';
import { createGetTrip, createStartTrip, defineStartTripSaga } from './start-trip.ts';
import { createTripService } from './trip-service.ts';
import { IdleRiders } from './idle-riders.ts';

// Found through the package, not relative to this file: `npm start` runs a bundle in dist/.
export const tripMigrationsDir = join(dirname(createRequire(import.meta.url).resolve('@carshare/trip-service/package.json')), 'migrations');

export interface TripModuleDeps {
  config: TripConfig;
  observability: Observability;
  database: ServiceDatabase;
  /** Where this service's events go (its outbox relay publishes to it). */
  bus: EventBus;
  /** True on PostgreSQL, where several instances' relays share the outbox. */
  concurrentRelays: boolean;
  /** Finds the user service, whose published keys verify callers' access tokens, and the services this one calls. */
  discovery: Discovery;
  clock: Clock;
  ids: IdGenerator;
  /** Timers of the reservation sweeper: tests drive them by hand. */
  scheduler?: Scheduler;
  /** Stand-ins for the car and profile services (tests); by default RPC clients. */
  cars?: CarPort;
  profiles?: ProfilePort;
  payments?: PaymentPort;
  /** Stand-in for the user service (tests): whether a rider confirmed their address. */
  accounts?: AccountPort;
  /**
   * Serves the contract (and makes clients of the services this one calls): over HTTP, and in
   * process too when the composition runs its callers in the same process (ADR 0011).
   */
  rpc?: RpcConnector;
  /** CARSHARE_CONFIG: re-read when it changes for the hot-reloadable keys (tariffs, zones, holds, deposits, fees). */
  configFile?: { path: string; reload: () => TripConfig } | undefined;
}

export interface TripModule {
  name: 'trip';
  server: HttpServer;
  service: TripUseCases;
  /** The start-trip saga's runner: recovers what a dead instance left at start, then every lease. */
  sagas: SagaRunner;
  messaging: ServiceMessaging;
  /** Tariffs, zones, hold time, deposits: replace the value to change them while running. */
  settings: LiveConfig<TripSettings>;
  /** Runs one reservation sweep now (tests; the module also runs them every `reservations.sweepIntervalMs`). */
  sweep(): Promise<void>;
  start(options?: { background: boolean }): Promise<void>;
  close(): Promise<void>;
}

export function settingsOf(config: TripConfig): TripSettings {
  return { tariffs: config.tariffs, zones: config.zones, reservations: config.reservations, deposits: config.deposits, lowEnergy: config.lowEnergy };
}

/** The trip service wired to its ports: a library first, so `carshare up` and `carshare service trip` share it. */
export function createTripModule(deps: TripModuleDeps): TripModule {
  const { config, observability, clock, ids } = deps;
  const logger = observability.logger;
  const scheduler = deps.scheduler ?? systemScheduler;
  const database = deps.database as ServiceDatabase<TripDatabase>;
  const messaging = createServiceMessaging({ database, bus: deps.bus, concurrentRelays: deps.concurrentRelays, registry: observability.metrics.registry, logger });
  const rpc = deps.rpc ?? createRpcConnector({ discovery: deps.discovery });
  const downstream = { observability, clock, backgroundBudgetMs: config.http.defaultDeadlineMs };
  const cars = deps.cars ?? rpcCarPort(rpc.client(carRpc, { observability, clock }), downstream);
  const profiles = deps.profiles ?? rpcProfilePort(rpc.client(profileRpc, { observability, clock }), downstream);
  const payments = deps.payments ?? rpcPaymentPort(rpc.client(paymentRpc, { observability, clock }), downstream);
  const accounts = deps.accounts ?? rpcAccountPort(rpc.client(userRpc, { observability, clock }), downstream);
  const settings = new LiveConfig(settingsOf(config));
  const reservations = new SqlReservationStore(database.db);
  const events = createEventFactory({ source: 'trip', clock, ids });
  const outbox = messaging.outbox;
  const startTripSaga = defineStartTripSaga({ cars, profiles, payments, settings, clock, events, outbox });
  const finishTripSaga = defineFinishTripSaga({
    db: database.db,
    cars,
    payments,
    settings,
    clock,
    events,
    outbox,
  });
  const parkDeps = { cars, clock, events, outbox };
  const pauseTripSaga = definePauseTripSaga(parkDeps);
  const resumeTripSaga = defineResumeTripSaga(parkDeps);
  const sagas = new SagaRunner({ database, sagas: [startTripSaga, finishTripSaga, pauseTripSaga, resumeTripSaga], clock, ids, leaseMs: config.sagas.leaseMs, registry: observability.metrics.registry, logger });

  // A rider with nothing active reads /v1/me without the database for this long; another
  // instance's new reservation or trip shows after it at the latest (this instance's at once).
  const idleRiders = new IdleRiders({ ttlMs: 2_000, maxEntries: 100_000, now: () => clock.now() });
  const reservationUseCases = createTripService({
    idleRiders,
    failedStarts: sqlFailedStartFees(database.db, sagas),
    reservations,
    unitOfWork: new SqlUnitOfWork(database, messaging.outbox),
    events,
    cars,
    profiles,
    accounts,
    payments,
    settings,
    clock,
    scheduler,
    ids,
  });
  const startTrip = createStartTrip({
    db: database.db,
    transact: (work) => database.transaction((trx) => work(trx as unknown as Kysely<TripDatabase>)),
    events,
    outbox,
    runner: sagas,
    saga: startTripSaga,
    reservations,
    clock,
    ids,
    settleFeeOfFailedStart: reservationUseCases.settleFeeOfFailedStart,
  });
  const service = {
    ...reservationUseCases,
    // Taking a free car reserves it for the trip: an unconfirmed address may not (a reservation
    // was checked when it was made).
    startTrip: async (...args: Parameters<typeof startTrip>) => {
      const [input, caller, ctx] = args;
      if (input.reservationId === undefined) await reservationUseCases.requireMayReserve(caller, ctx);
      // Before and after: a read that ran meanwhile may have seen nothing yet.
      if (caller) idleRiders.forget(caller.userId);
      try {
        return await startTrip(...args);
      } finally {
        if (caller) idleRiders.forget(caller.userId);
      }
    },
    getTrip: createGetTrip(database.db),
    finishTrip: createFinishTrip({ db: database.db, runner: sagas, saga: finishTripSaga, cars, settings, ids, clock }),
    ...createParking({ db: database.db, runner: sagas, pause: pauseTripSaga, resume: resumeTripSaga, ids }),
    ...createTripQueries({ db: database.db, cars, runner: sagas, settings, clock, logger, idleRiders }),
    ...createPricePreview({ settings }),
  };
  const verifier = createRemoteAccessTokenVerifier({ discovery: deps.discovery, clock });

  const server = createHttpServer({
    observability,
    clock,
    errorStyle: 'rpc',
    bodyLimitBytes: config.http.bodyLimitBytes,
    defaultDeadlineMs: config.http.defaultDeadlineMs,
    readiness: [{ name: 'database', check: () => database.ping() }],
  });
  rpc.serve(server, tripRpc, { ...tripRpcHandlers(service), ...deadLetterRpcHandlers(messaging.deadLetterAdmin) }, { observability, authenticate: (token) => verifier.verify(token) });

  let stopped = false;
  let stopWatching: (() => void) | undefined;
  let sweepTimer: unknown;
  async function sweep(): Promise<void> {
    const { failed } = await service.expireReservations();
    for (const failure of failed) logger.warn({ err: failure.error, reservationId: failure.reservationId }, 'expired reservation not released yet; the next sweep retries');
    const fees = await service.chargeOwedFees();
    for (const failure of fees.failed) logger.warn({ err: failure.error, reservationId: failure.reservationId }, 'reservation extension fee not charged yet; the next sweep retries');
    const captures = await retryPendingCaptures({ db: database.db, payments, clock });
    if (captures.pending > 0) logger.warn({ pending: captures.pending }, 'trip captures still waiting for the payment service; the next sweep asks again');
  }
  function scheduleSweep(): void {
    if (stopped) return;
    sweepTimer = scheduler.setTimeout(() => {
      sweep()
        .catch((error: unknown) => logger.error({ err: error }, 'reservation sweep failed'))
        .finally(scheduleSweep);
    }, settings.get().reservations.sweepIntervalMs);
  }

  return {
    name: 'trip',
    server,
    service,
    sagas,
    messaging,
    settings,
    sweep,
    async start(options = { background: true }) {
      await database.migrate(tripMigrationsDir);
      await migrateMessagingTables(database);
      await migrateSagaTables(database);
      await server.ready();
      // New trips take a reloaded tariff table; running ones priced by the copy they started with.
      if (deps.configFile) {
        const { path, reload } = deps.configFile;
        stopWatching = watchConfigFile(path, () => settingsOf(reload()), settings, logger);
      }
      if (!options.background) return;
      messaging.start();
      sagas.start();
      scheduleSweep();
    },
    async close() {
      stopped = true;
      stopWatching?.();
      scheduler.clearTimeout(sweepTimer);
      await server.close();
      await sagas.stop();
      await messaging.stop();
    },
  };
}
