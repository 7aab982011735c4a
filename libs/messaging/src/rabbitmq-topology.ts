import type { Channel } from 'amqplib';
import type { RabbitMqNames } from './rabbitmq-names.ts';

/**
 * Declares a family's topic exchange, always with the same arguments: publishers, consumer
 * groups and broadcast subscribers all declare it (whoever comes first), and the broker refuses
 * a redeclaration whose arguments differ.
 */
export async function declareFamilyExchange(channel: Channel, names: RabbitMqNames, family: string): Promise<string> {
  const exchange = names.family(family);
  await channel.assertExchange(exchange, 'topic', { durable: true });
  return exchange;
}
