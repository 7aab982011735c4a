import type { Channel } from 'amqplib';
import type { RabbitMqNames } from './rabbitmq-names.ts';

/**
 * How long an event no consumer group was bound for waits for one to appear: long enough for a
 * service deployed late (days), bounded so that a family nobody consumes does not grow forever.
 */
export const unroutedRetentionMs = 7 * 24 * 3600 * 1000;

/**
 * Declares a family's topic exchange, always with the same arguments: publishers, consumer
 * groups and broadcast subscribers all declare it (whoever comes first), and the broker refuses
 * a redeclaration whose arguments differ. Its alternate exchange catches what no queue is bound
 * for (a family or type no group subscribes to yet) into the durable `unrouted` queue, instead
 * of the broker dropping it while confirming the publish.
 */
export async function declareFamilyExchange(channel: Channel, names: RabbitMqNames, family: string): Promise<string> {
  await declareUnrouted(channel, names);
  const exchange = names.family(family);
  await channel.assertExchange(exchange, 'topic', { durable: true, alternateExchange: names.unroutedExchange() });
  return exchange;
}

async function declareUnrouted(channel: Channel, names: RabbitMqNames): Promise<void> {
  await channel.assertExchange(names.unroutedExchange(), 'fanout', { durable: true });
  await channel.assertQueue(names.unroutedQueue(), { durable: true, arguments: { 'x-message-ttl': unroutedRetentionMs } });
  await channel.bindQueue(names.unroutedQueue(), names.unroutedExchange(), '');
}
