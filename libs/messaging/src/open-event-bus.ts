import type { EventBus } from './event-bus.ts';
import { InProcessEventBus, type InProcessEventBusOptions } from './in-process-event-bus.ts';
import { silentLogger, type StructuredLogger } from '@carshare/platform';
import { RabbitMqEventBus, type RabbitMqEventBusOptions } from './rabbitmq-event-bus.ts';

export interface OpenEventBusOptions {
  /** RabbitMQ URL (AMQP_URL); unset or empty → the in-process bus. */
  amqpUrl?: string;
  rabbitMq?: Omit<RabbitMqEventBusOptions, 'url'>;
  inProcess?: InProcessEventBusOptions;
  logger?: StructuredLogger;
}

/** Picks the adapter from config, as every port does: no URL means embedded, said once in the log. */
export async function openEventBus(options: OpenEventBusOptions): Promise<EventBus> {
  const logger = options.logger ?? silentLogger;
  if (options.amqpUrl) {
    const bus = await RabbitMqEventBus.connect({ logger, ...options.rabbitMq, url: options.amqpUrl });
    logger.info({ adapter: 'rabbitmq', prefix: bus.names.prefix }, 'event bus: RabbitMQ');
    return bus;
  }
  logger.info({ adapter: 'in-process' }, 'event bus: in-process (AMQP_URL not set); events queued in memory are lost if the process dies');
  return new InProcessEventBus({ logger, ...options.inProcess });
}
