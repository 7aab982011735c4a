import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { carRpc } from '@carshare/contracts';
import { createEventFactory, createServiceMessaging, deadLetterRpcHandlers, migrateMessagingTables, type EventBus, type ServiceMessaging } from '@carshare/messaging';
import type { Observability } from '@carshare/observability';
import {
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
import { MemoryRateLimitStore } from '@carshare/resilience';
import type { ServiceDatabase } from '@carshare/storage';
import { AedesDeviceGateway } from './adapters/aedes-device-gateway.ts';
import type { CarDatabase } from './adapters/car-database.ts';
import { carMetrics } from './adapters/car-metrics.ts';
import { LocalDeviceLink, MqttBackplaneDeviceLink } from './adapters/device-links.ts';
import { MemoryNearbyIndex } from './adapters/memory-nearby-index.ts';
import { HmacDeviceSecrets } from './adapters/hmac-device-secrets.ts';
import { SqlCarStore } from './adapters/sql-car-store.ts';
import { SqlCommandStore } from './adapters/sql-command-store.ts';
import { SqlUnitOfWork } from './adapters/sql-unit-of-work.ts';
import { carRpcHandlers } from './api/rpc-handlers.ts';
import { createCarService, type CarService } from './car-service.ts';
import type { CarConfig } from './config.ts';
import { DeviceIngress } from './device-ingress.ts';
import { TelemetryIngest } from './telemetry-ingest.ts';

// Found through the package, not relative to this file: `npm start` runs a bundle in dist/.
export const carMigrationsDir = join(dirname(createRequire(import.meta.url).resolve('@carshare/car-service/package.json')), 'migrations');

export interface CarModuleDeps {
  config: CarConfig;
  observability: Observability;
  database: ServiceDatabase;
  /** Where this service's events go (its outbox relay publishes to it). */
  bus: EventBus;
  /** True on PostgreSQL, where several instances' relays share the outbox. */
  concurrentRelays: boolean;
  /** Finds the user service, whose published keys verify callers' access tokens. */
  discovery: Discovery;
  clock: Clock;
  ids: IdGenerator;
  /** Timers of command deadlines, the sweeper and telemetry batching: tests drive them by hand. */
  scheduler?: Scheduler;
  /**
   * Serves the contract (and makes clients of the services this one calls): over HTTP, and in
   * process too when the composition runs its callers in the same process (ADR 0011).
   */
  rpc?: RpcConnector;
}

export interface CarModule {
  name: 'car';
  server: HttpServer;
  service: CarService;
  devices: DeviceIngress;
  telemetry: TelemetryIngest;
  gateway: AedesDeviceGateway;
  messaging: ServiceMessaging;
  /** Runs one sweep now (tests; the module also runs them every `sweeper.intervalMs`). */
  sweep(): Promise<void>;
  start(options?: { background: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** The car service wired to its ports: a library first, so `carshare up` and `carshare service car` share it. */
export function createCarModule(deps: CarModuleDeps): CarModule {
  const { config, observability, clock, ids } = deps;
  const scheduler = deps.scheduler ?? systemScheduler;
  const logger = observability.logger;
  const database = deps.database as ServiceDatabase<CarDatabase>;
  const metrics = carMetrics(observability.metrics.registry);
  const messaging = createServiceMessaging({
    database,
    bus: deps.bus,
    concurrentRelays: deps.concurrentRelays,
    registry: observability.metrics.registry,
    logger,
  });
  const cars = new SqlCarStore(database.db);
  const unitOfWork = new SqlUnitOfWork(database, messaging.outbox);
  const events = createEventFactory({ source: 'car', clock, ids });
  const secrets = new HmacDeviceSecrets(config.devices.secretPepper);
  const nearbyIndex = new MemoryNearbyIndex({ slackM: config.nearby.slackM });

  // The gateway hands what devices send to `deviceIngress` and `carService`, built below it
  // (the closures run only once devices connect, after start).
  const gateway = new AedesDeviceGateway(
    {
      authenticate: (carId, secret) => deviceIngress.authenticate(carId, secret),
      telemetry: (credential, payload) => {
        void telemetry.ingest(credential, payload, false).catch((error: unknown) => logger.error({ err: error, carId: credential.carId }, 'telemetry ingest failed'));
        return telemetry.whenWritable();
      },
      ack: (credential, ack) => {
        void carService.handleAck(credential.carId, ack).catch((error: unknown) => logger.error({ err: error, carId: credential.carId }, 'command ack failed'));
      },
      refused: (reason, carId) => {
        metrics.refused(reason);
        logger.warn({ carId, reason }, 'device refused');
      },
    },
    { host: config.devices.mqttHost, port: config.devices.mqttPort, maxPacketBytes: config.devices.maxPacketBytes },
  );
  metrics.watchConnectedDevices(() => gateway.connectedDevices);
  const backplaneUrl = config.devices.backplaneUrl;
  const backplane = backplaneUrl
    ? new MqttBackplaneDeviceLink(gateway, { url: backplaneUrl, prefix: config.devices.backplanePrefix, clientId: `car-${ids.next()}` })
    : undefined;
  const link = backplane ?? new LocalDeviceLink(gateway);

  const carService = createCarService(
    {
      cars,
      commands: new SqlCommandStore(database.db),
      unitOfWork,
      events,
      devices: link,
      secrets,
      nearbyIndex,
      clock,
      scheduler,
      ids,
      settings: { commandTimeoutMs: config.devices.commandTimeoutMs, offlineAfterMs: config.sweeper.offlineAfterMs },
    },
    {
      ignoredAck(carId, ack, why) {
        metrics.ignoredAck(why);
        logger.warn({ carId, commandId: ack.commandId, why }, 'command ack ignored');
      },
      searchNotRecorded(error) {
        logger.warn({ err: error }, 'search session not recorded (car.searched): the next search retries');
      },
    },
  );
  const telemetry = new TelemetryIngest({
    cars,
    unitOfWork,
    events,
    clock,
    scheduler,
    limits: new MemoryRateLimitStore({ maxKeys: 200_000 }),
    settings: {
      maxFutureSkewMs: config.telemetry.maxFutureSkewMs,
      maxAgeMs: config.telemetry.maxAgeMs,
      perCarLimit: { algorithm: 'gcra', limit: config.telemetry.perCarPerSecond, windowMs: 1000, burst: config.telemetry.perCarBurst },
      eventIntervalMs: config.telemetry.eventIntervalMs,
      eventHeartbeatMs: config.telemetry.eventHeartbeatMs,
      flushIntervalMs: config.telemetry.flushIntervalMs,
      maxBatch: config.telemetry.maxBatch,
      rowMinIntervalMs: config.telemetry.rowMinIntervalMs,
      // The sweeper takes a car whose row is older than offlineAfterMs for silent.
      rowHeartbeatMs: Math.min(config.telemetry.rowHeartbeatMs, Math.floor(config.sweeper.offlineAfterMs / 4)),
      historyMinMoveM: config.telemetry.historyMinMoveM,
      historyHeartbeatMs: config.telemetry.historyHeartbeatMs,
      maxBacklog: config.telemetry.maxBacklog,
    },
    onAccepted: () => metrics.telemetry('accepted'),
    onStored: (carId, point) => nearbyIndex.update(carId, { position: { lat: point.lat, lng: point.lng }, energyPct: point.energyPct }),
    onRejected: (reason) => metrics.telemetry(reason),
    cameBack: (carId) => carService.cameBack(carId),
    onFlushError: (error) => {
      metrics.flushFailed();
      logger.error({ err: error }, 'telemetry batch not written');
    },
  });
  const deviceIngress = new DeviceIngress({ cars, secrets, telemetry, traccarToken: config.devices.traccarToken, onRejected: (reason) => metrics.telemetry(reason) });

  const server = createHttpServer({
    observability,
    clock,
    errorStyle: 'rpc',
    bodyLimitBytes: config.http.bodyLimitBytes,
    defaultDeadlineMs: config.http.defaultDeadlineMs,
    readiness: [{ name: 'database', check: () => database.ping() }],
  });
  const originOf = (span: Parameters<typeof observability.tracing.traceparentOf>[0]) => ({ traceparent: observability.tracing.traceparentOf(span) });
  const rpc = deps.rpc ?? createRpcConnector({ discovery: deps.discovery });
  rpc.serve(
    server,
    carRpc,
    { ...carRpcHandlers(carService, deviceIngress, originOf), ...deadLetterRpcHandlers(messaging.deadLetterAdmin) },
    { observability },
  );

  // The tree follows the cars: rebuilt from memory every `rebuildIntervalMs` (~2 ms for 10,000
  // cars); reloaded from the database only where other instances change cars too (PostgreSQL),
  // since reading every car costs ~1 s on PGlite and one process owns a PGlite database.
  let rebuildTimer: unknown;
  let lastReload = clock.now();
  async function reloadNearby(): Promise<void> {
    nearbyIndex.replaceAll(await cars.nearbyEntries());
    lastReload = clock.now();
  }
  function scheduleRebuild(): void {
    if (stopped) return;
    rebuildTimer = scheduler.setTimeout(() => {
      const reload = deps.concurrentRelays && clock.now() - lastReload >= config.nearby.reloadIntervalMs;
      (reload ? reloadNearby() : Promise.resolve(nearbyIndex.rebuild()))
        .catch((error: unknown) => logger.error({ err: error }, 'nearby index reload failed'))
        .finally(scheduleRebuild);
    }, config.nearby.rebuildIntervalMs);
  }

  let sweepTimer: unknown;
  let stopped = false;
  async function sweep(): Promise<void> {
    const { wentOffline, expiredCommands } = await carService.sweep();
    const pruned = await cars.pruneTelemetry(clock.now() - config.telemetry.historyRetentionMs);
    if (wentOffline + expiredCommands + pruned > 0) logger.info({ wentOffline, expiredCommands, pruned }, 'car sweep');
  }
  function scheduleSweep(): void {
    if (stopped) return;
    sweepTimer = scheduler.setTimeout(() => {
      sweep()
        .catch((error: unknown) => logger.error({ err: error }, 'car sweep failed'))
        .finally(scheduleSweep);
    }, config.sweeper.intervalMs);
  }

  return {
    name: 'car',
    server,
    service: carService,
    devices: deviceIngress,
    telemetry,
    gateway,
    messaging,
    sweep,
    async start(options = { background: true }) {
      await database.migrate(carMigrationsDir);
      await migrateMessagingTables(database);
      await reloadNearby();
      await server.ready();
      if (!options.background) return;
      await gateway.start();
      await backplane?.start((error) => logger.error({ err: error }, 'device backplane error'));
      logger.info({ port: gateway.port, backplane: backplaneUrl === undefined ? 'in process' : 'mqtt' }, 'device gateway listening (MQTT)');
      messaging.start();
      scheduleSweep();
      scheduleRebuild();
    },
    async close() {
      stopped = true;
      scheduler.clearTimeout(sweepTimer);
      scheduler.clearTimeout(rebuildTimer);
      await gateway.close();
      await backplane?.close();
      await telemetry.flush().catch(() => undefined);
      await server.close();
      await messaging.stop();
    },
  };
}
