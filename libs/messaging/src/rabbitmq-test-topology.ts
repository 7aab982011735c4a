import amqp from 'amqplib';
import type { RabbitMqEventBus } from './rabbitmq-event-bus.ts';

/** A prefix no other test run uses, so suites can run side by side on one broker. */
export function uniquePrefix(label: string): string {
  return `test-${label}-${process.pid}-${Math.floor(Math.random() * 1e9).toString(36)}`;
}

/** Deletes what a test created: its groups (through the bus), family exchanges and the poison queue. */
export async function deleteTestTopology(url: string, bus: RabbitMqEventBus | undefined, groups: string[], families: string[]): Promise<void> {
  if (bus) for (const group of groups) await bus.deleteGroup(group);
  const prefix = bus?.names.prefix;
  if (!prefix) return;
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    for (const family of families) await channel.deleteExchange(bus.names.family(family));
    await channel.deleteQueue(bus.names.poisonQueue());
    await channel.deleteExchange(bus.names.poisonExchange());
    await channel.close();
  } finally {
    await connection.close();
  }
}
