import { Lifecycle, observabilityFromConfig } from '@carshare/platform';
import { openEventBus } from '@carshare/messaging';
import { openSqlEngine } from '@carshare/storage';
import { loadUserConfig } from './config.ts';
import { createUserModule } from './module.ts';

/** The user service alone, as one process of the distributed topology. */
export async function runUserService(): Promise<void> {
  const config = loadUserConfig();
  const observability = observabilityFromConfig('user', config, { processMetrics: true });
  const lifecycle = new Lifecycle(observability.logger);
  lifecycle.add({ name: 'observability', close: () => observability.shutdown() });
  const engine = await openSqlEngine({ databaseUrl: config.database.url, dataDir: config.database.dataDir });
  lifecycle.add({ name: 'database', close: () => engine.close() });
  if (!config.database.url) observability.logger.info({ dataDir: config.database.dataDir }, 'no DATABASE_URL: embedded PGlite');
  const bus = await openEventBus({
    amqpUrl: config.messaging.amqpUrl,
    logger: observability.logger,
    inProcess: { tracing: observability.tracing },
    rabbitMq: { tracing: observability.tracing },
  });
  lifecycle.add({ name: 'event bus', close: () => bus.close() });
  const user = createUserModule({
    config,
    observability,
    database: engine.forService('user'),
    bus,
    concurrentRelays: engine.kind === 'postgres',
  });
  await user.start();
  await user.server.listen({ host: config.http.host, port: config.http.port });
  lifecycle.add({ name: 'user', close: () => user.close() });
  lifecycle.closeOnSignals();
}

