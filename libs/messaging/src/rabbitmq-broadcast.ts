import { isEventEnvelope } from '@carshare/contracts';
import type { StructuredLogger } from '@carshare/platform';
import type { Channel, ChannelModel } from 'amqplib';
import type { BroadcastListener } from './broadcast-listener.ts';
import { declareFamilyExchange } from './rabbitmq-topology.ts';
import { replayedHeader, type RabbitMqNames } from './rabbitmq-names.ts';
import { parseTopic } from './topic-pattern.ts';

/**
 * A broadcast subscriber on RabbitMQ: a queue of its own, named by the server, exclusive to its
 * connection and deleted with it, bound to the family exchanges for its topics (any slot). The
 * broker copies every matching event into every such queue, which is what makes it a broadcast.
 * Consumed without acks: what the broker sent is considered delivered (at most once), and a
 * queue that outgrows `maxBacklog` loses its oldest messages rather than filling the broker.
 * After a reconnect a new queue is declared: events in between were never queued for us, and
 * `onGap` tells the caller so.
 */
export class RabbitMqBroadcast {
  readonly #names: RabbitMqNames;
  readonly #topics: readonly string[];
  readonly #listener: BroadcastListener;
  readonly #maxBacklog: number;
  readonly #onGap: (() => void) | undefined;
  readonly #logger: StructuredLogger;
  #channel: Channel | undefined;
  #setUpFor: ChannelModel | undefined;
  #lostConnection = false;
  #closed = false;

  constructor(options: {
    names: RabbitMqNames;
    topics: readonly string[];
    listener: BroadcastListener;
    maxBacklog: number;
    onGap?: () => void;
    logger: StructuredLogger;
  }) {
    for (const topic of options.topics) parseTopic(topic);
    this.#names = options.names;
    this.#topics = options.topics;
    this.#listener = options.listener;
    this.#maxBacklog = options.maxBacklog;
    this.#onGap = options.onGap;
    this.#logger = options.logger;
  }

  async setUp(connection: ChannelModel): Promise<void> {
    if (this.#closed || this.#setUpFor === connection) return;
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    try {
      const { queue } = await channel.assertQueue('', {
        exclusive: true,
        autoDelete: true,
        durable: false,
        arguments: { 'x-max-length': this.#maxBacklog, 'x-overflow': 'drop-head' },
      });
      for (const topic of this.#topics) {
        const exchange = await declareFamilyExchange(channel, this.#names, parseTopic(topic).family);
        // Routing keys are `<type>.<slot>`: the topic, then any slot.
        await channel.bindQueue(queue, exchange, `${topic}.*`);
      }
      await channel.consume(queue, (message) => {
        // A parked unroutable event replayed for a late consumer group is old news here.
        if (message === null || message.properties.headers?.[replayedHeader] === true) return;
        let event: unknown;
        try {
          event = JSON.parse(message.content.toString('utf8'));
        } catch {
          event = undefined;
        }
        if (isEventEnvelope(event)) this.#listener.offer(event);
        else this.#logger.warn({ messageId: message.properties.messageId }, 'broadcast: not an event envelope; dropped');
      }, { noAck: true });
    } catch (error) {
      await channel.close().catch(() => undefined);
      throw error;
    }
    if (this.#closed) {
      await channel.close().catch(() => undefined);
      return;
    }
    this.#channel = channel;
    this.#setUpFor = connection;
    if (this.#lostConnection) {
      this.#lostConnection = false;
      this.#onGap?.();
    }
  }

  connectionLost(): void {
    this.#channel = undefined;
    this.#setUpFor = undefined;
    this.#lostConnection = true;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Closing the channel cancels the consumer; the queue, auto-delete, goes with it.
    await this.#channel?.close().catch(() => undefined);
    this.#channel = undefined;
    await this.#listener.close();
  }
}
