import type { EventEnvelope } from '@carshare/contracts';
import { InProcessEventBus, MemoryDeadLetterStore } from '@carshare/messaging';
import { createObservability } from '@carshare/observability';
import { StaticDiscovery, uuidV7Ids, type Caller } from '@carshare/platform';
import { openTestDatabase, type TestDatabase } from '@carshare/storage';
import { FakeClock, ManualScheduler } from '@carshare/testing';
import type { Counter, Registry } from 'prom-client';
import { carMetricNames } from '../adapters/car-metrics.ts';
import { loadCarConfig } from '../config.ts';
import { createCarModule, type CarModule } from '../module.ts';

export const operator: Caller = { userId: '01890a5d-ac96-774b-bcce-b302099a8001', role: 'operator', plan: 'unlimited' };
export const rider: Caller = { userId: '01890a5d-ac96-774b-bcce-b302099a8002', role: 'rider', plan: 'free' };

export interface CarTestModule {
  module: CarModule;
  database: TestDatabase;
  clock: FakeClock;
  scheduler: ManualScheduler;
  registry: Registry;
  /** Events the outbox relay published so far. */
  published: EventEnvelope[];
  /** Value of a labelled counter of the car service. */
  counter(name: keyof typeof carMetricNames, labels: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

/**
 * The car module on a test database (PGlite in memory, or a schema of its own on PostgreSQL when
 * `databaseUrl` is given), with a fake clock and hand-driven timers, its MQTT gateway on a free
 * loopback port, and an in-process bus whose events the test can read.
 */
export async function openCarTestModule(
  options: { databaseUrl?: string | undefined; config?: Record<string, unknown>; sharedDatabase?: TestDatabase } = {},
): Promise<CarTestModule> {
  // A second instance of the service may share the first one's database (several instances, one schema).
  const database = options.sharedDatabase ?? (await openTestDatabase({ schemaPrefix: 'car_test', databaseUrl: options.databaseUrl, prepare: async () => undefined }));
  const clock = new FakeClock('2026-03-01T08:00:00Z');
  const scheduler = new ManualScheduler(clock);
  const bus = new InProcessEventBus();
  const observability = createObservability({ service: 'car', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });
  const published: EventEnvelope[] = [];
  await bus.subscribe('test.car-events', ['car.*'], async (event) => {
    published.push(event);
  }, { deadLetters: new MemoryDeadLetterStore() });
  const module = createCarModule({
    config: loadCarConfig({ 'log.level': 'silent', 'devices.mqttPort': 0, 'devices.commandTimeoutMs': 5_000, ...options.config }),
    observability,
    database: database.database,
    bus,
    concurrentRelays: database.kind === 'postgres',
    // Access tokens are never checked here: the tests call the use cases with a caller.
    discovery: new StaticDiscovery({ user: 'http://127.0.0.1:9' }),
    clock,
    ids: uuidV7Ids,
    scheduler,
  });
  await module.start();
  const registry = observability.metrics.registry;
  return {
    module,
    database,
    clock,
    scheduler,
    registry,
    published,
    async counter(name, labels) {
      const metric = registry.getSingleMetric(carMetricNames[name]) as Counter | undefined;
      const values = (await metric?.get())?.values ?? [];
      return values.filter((value) => Object.entries(labels).every(([key, label]) => value.labels[key] === label)).reduce((sum, value) => sum + value.value, 0);
    },
    async close() {
      await module.close();
      await bus.close();
      if (!options.sharedDatabase) await database.close();
    },
  };
}

/** Polls `check` (real time: what is awaited is network I/O, not the clock) until it holds or 5 s pass. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> {
  const until = Date.now() + 5_000;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
