import type { EventEnvelope } from '@carshare/contracts';
import { backoffDelay, backoffPolicy, Unavailable, type StructuredLogger } from '@carshare/platform';
import type { Channel, ChannelModel, ConfirmChannel, Options } from 'amqplib';
import { describeError } from './describe-error.ts';
import type { RabbitMqConnection } from './rabbitmq-connection.ts';
import { RabbitMqNames, type GroupNames } from './rabbitmq-names.ts';
import { declareFamilyExchange } from './rabbitmq-topology.ts';

// Between attempts to get a batch confirmed: 100 ms doubling to 3.2 s, without jitter (a
// publisher retries alone against its own deadline; the broker's return is what it waits for).
const publishRetryBackoff = backoffPolicy({ initialMs: 100, maxMs: 3_200, factor: 2, jitter: 0 });

export interface OutgoingMessage {
  exchange: string;
  routingKey: string;
  event: EventEnvelope;
  headers: Record<string, unknown>;
  expiration?: string;
}

export interface ConfirmingPublisherOptions {
  connection: RabbitMqConnection;
  /** The bus's name prefix: family exchanges (`<prefix>.events.*`) are declared on first use. */
  prefix: string;
  /** How long send() keeps trying through an outage before failing Unavailable. */
  publishTimeoutMs: number;
  logger: StructuredLogger;
}

/**
 * Sends events so that they are durably accepted or the caller hears otherwise: persistent
 * messages on one confirm channel, every confirm awaited, and what the broker did not confirm
 * sent again (with backoff, through reconnects) until `publishTimeoutMs`. It also remembers
 * which exchanges and delay queues exist on the current connection, so each is declared once.
 */
export class ConfirmingPublisher {
  readonly #options: ConfirmingPublisherOptions;
  /** Exchanges and delay queues known to exist on the current connection. */
  readonly #declared = new Set<string>();
  readonly #names: RabbitMqNames;
  #publishChannel: ConfirmChannel | undefined;
  #publishChannelOpening: Promise<ConfirmChannel> | undefined;
  #closed = false;

  constructor(options: ConfirmingPublisherOptions) {
    this.#options = options;
    this.#names = new RabbitMqNames(options.prefix);
  }

  /**
   * A new connection: nothing is known to be declared on it. Its confirm channel is opened now
   * rather than by the first publish, which would otherwise pay for it.
   */
  async connected(connection: ChannelModel): Promise<void> {
    this.#declared.clear();
    this.#adoptPublishChannel(await connection.createConfirmChannel());
  }

  disconnected(): void {
    this.#publishChannel = undefined;
  }

  /** Sends still in progress fail at their next retry instead of waiting out their deadline. */
  close(): void {
    this.#closed = true;
  }

  /** Declares the delay queue of a retry bucket once per connection, before a retry is sent to it. */
  async ensureDelayQueue(names: GroupNames, bucket: number): Promise<void> {
    const queue = names.delayQueue(bucket);
    if (this.#declared.has(queue)) return;
    const channel = await this.#options.connection.channel(Date.now() + this.#options.publishTimeoutMs);
    try {
      await channel.assertExchange(names.retryExchange, 'topic', { durable: true });
      await channel.assertQueue(queue, { durable: true, arguments: delayQueueArguments(names) });
      await channel.bindQueue(queue, names.retryExchange, `${bucket}.*`);
    } finally {
      await channel.close().catch(() => undefined);
    }
    this.#declared.add(queue);
  }

  async send(messages: OutgoingMessage[]): Promise<void> {
    const deadline = Date.now() + this.#options.publishTimeoutMs;
    let pending = messages;
    let failures = 0;
    for (;;) {
      let lastError: unknown;
      try {
        const channel = await this.#publishChannelWithin(deadline);
        await this.#options.connection.whenUnblocked(deadline);
        await this.#declareExchanges(channel, pending);
        const results = await publishConfirmed(channel, pending, deadline);
        const failed = pending.filter((_, index) => results[index]?.status === 'rejected');
        lastError = results.find((result) => result.status === 'rejected');
        if (failed.length === 0) return;
        pending = failed;
      } catch (error) {
        lastError = error;
      }
      failures += 1;
      const remaining = deadline - Date.now();
      if (remaining <= 0 || this.#closed) {
        throw Unavailable('EVENT_BUS_UNAVAILABLE', `RabbitMQ did not confirm ${pending.length} event(s) within ${this.#options.publishTimeoutMs} ms`, {}, { cause: lastError });
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(remaining, backoffDelay(failures, publishRetryBackoff))));
    }
  }

  async #declareExchanges(channel: ConfirmChannel, messages: OutgoingMessage[]): Promise<void> {
    for (const { exchange } of messages) {
      if (this.#declared.has(exchange)) continue;
      // Family exchanges are created by whoever comes first, publisher or consumer; the group's
      // own exchanges by its subscription, so a replay for a vanished group fails instead.
      const familyPrefix = `${this.#options.prefix}.events.`;
      if (exchange.startsWith(familyPrefix)) await declareFamilyExchange(channel, this.#names, exchange.slice(familyPrefix.length));
      this.#declared.add(exchange);
    }
  }

  async #publishChannelWithin(deadline: number): Promise<ConfirmChannel> {
    if (this.#publishChannel) return this.#publishChannel;
    this.#publishChannelOpening ??= (async () => this.#adoptPublishChannel(await this.#options.connection.confirmChannel(deadline)))().finally(() => {
      this.#publishChannelOpening = undefined;
    });
    return await this.#publishChannelOpening;
  }

  #adoptPublishChannel(channel: ConfirmChannel): ConfirmChannel {
    channel.on('error', (error: Error) => this.#options.logger.warn({ err: describeError(error) }, 'RabbitMQ publish channel closed by the broker'));
    channel.on('close', () => {
      if (this.#publishChannel === channel) this.#publishChannel = undefined;
    });
    this.#publishChannel = channel;
    return channel;
  }
}

/**
 * A retry waits in a replicated (quorum) queue, and leaves it by at-least-once dead-lettering:
 * the broker moves it to the return exchange with an internal publisher confirm and keeps it
 * until then (classic queues dead-letter at most once: a crash in that instant dropped it).
 * At-least-once dead-lettering requires `reject-publish` overflow (no message dropped from the
 * head); a full delay queue then refuses the retry publish, which nacks the delivery back to its
 * partition instead of losing it.
 */
export function delayQueueArguments(names: GroupNames): Record<string, unknown> {
  return {
    'x-queue-type': 'quorum',
    'x-dead-letter-exchange': names.returnExchange,
    'x-dead-letter-strategy': 'at-least-once',
    'x-overflow': 'reject-publish',
  };
}

function publishOptions(message: OutgoingMessage): Options.Publish {
  return {
    persistent: true,
    contentType: 'application/json',
    messageId: message.event.id,
    type: message.event.type,
    timestamp: Math.floor(Date.parse(message.event.occurredAt) / 1000),
    headers: message.headers,
    ...(message.expiration === undefined ? {} : { expiration: message.expiration }),
  };
}

/**
 * Publishes in order on one confirm channel and waits for every confirm; honours back-pressure
 * (`publish` returning false) by waiting for `drain` before writing more.
 */
async function publishConfirmed(channel: ConfirmChannel, messages: OutgoingMessage[], deadline: number): Promise<PromiseSettledResult<void>[]> {
  const confirms: Promise<void>[] = [];
  let closed = false;
  const onClose = (): void => {
    closed = true;
  };
  channel.once('close', onClose);
  try {
    for (const message of messages) {
      let full = false;
      confirms.push(
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(Unavailable('EVENT_BUS_UNAVAILABLE', 'no publisher confirm in time')), Math.max(0, deadline - Date.now()));
          try {
            full = !channel.publish(message.exchange, message.routingKey, Buffer.from(JSON.stringify(message.event)), publishOptions(message), (error) => {
              clearTimeout(timer);
              if (error) reject(error instanceof Error ? error : new Error(String(error)));
              else resolve();
            });
          } catch (error) {
            clearTimeout(timer);
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        }),
      );
      if (full && !closed) await waitForDrain(channel, deadline);
    }
  } finally {
    channel.off('close', onClose);
  }
  return await Promise.allSettled(confirms);
}

function waitForDrain(channel: Channel, deadline: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      channel.off('drain', done);
      channel.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
    channel.once('drain', done);
    channel.once('close', done);
  });
}
