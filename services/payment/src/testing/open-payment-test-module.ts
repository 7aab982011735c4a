import type { EventEnvelope } from '@carshare/contracts';
import { InProcessEventBus, MemoryDeadLetterStore } from '@carshare/messaging';
import { createObservability } from '@carshare/observability';
import { StaticDiscovery, type Clock } from '@carshare/platform';
import { openTestDatabase, type TestDatabase } from '@carshare/storage';
import { SimulatedPaymentProvider } from '../adapters/simulated-payment-provider.ts';
import { loadPaymentConfig } from '../config.ts';
import { createPaymentModule, paymentMigrationsDir, type PaymentModule } from '../module.ts';

export interface PaymentTestModule {
  readonly module: PaymentModule;
  readonly database: TestDatabase;
  /** The simulated processor the module charges: its calls and intents are what "once" is counted by. */
  readonly provider: SimulatedPaymentProvider;
  /** Every `payment.*` event the module published, in order. */
  readonly published: EventEnvelope[];
  close(): Promise<void>;
}

/**
 * The payment module on its real schema (PGlite, or PostgreSQL at `databaseUrl`) with the
 * simulated processor, started, for tests that call its use cases directly.
 */
export async function openPaymentTestModule(options: { schemaPrefix: string; databaseUrl: string | undefined; clock: Clock }): Promise<PaymentTestModule> {
  const database = await openTestDatabase({ schemaPrefix: options.schemaPrefix, databaseUrl: options.databaseUrl, prepare: (db) => db.migrate(paymentMigrationsDir) });
  const provider = new SimulatedPaymentProvider();
  const bus = new InProcessEventBus();
  const published: EventEnvelope[] = [];
  await bus.subscribe('test.payment-events', ['payment.*'], async (event) => {
    published.push(event);
  }, { deadLetters: new MemoryDeadLetterStore() });
  const module = createPaymentModule({
    config: loadPaymentConfig({ 'log.level': 'silent', 'provider.timeoutMs': 1_000 }),
    observability: createObservability({ service: 'payment', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false }),
    database: database.database,
    bus,
    concurrentRelays: options.databaseUrl !== undefined,
    // Never reached: these tests call the use cases, not the RPC port that verifies tokens.
    discovery: new StaticDiscovery({ user: 'http://127.0.0.1:9' }),
    clock: options.clock,
    provider,
  });
  await module.start({ background: false });
  return {
    module,
    database,
    provider,
    published,
    async close() {
      await module.close();
      await bus.close();
      await database.close();
    },
  };
}
