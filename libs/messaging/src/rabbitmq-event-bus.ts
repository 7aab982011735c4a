import { eventFamily, isEventEnvelope, type EventEnvelope } from '@carshare/contracts';
import { backoffPolicy, type BackoffPolicy, Conflict, InvalidArgument, isAppError, NotFound, silentLogger, type StructuredLogger } from '@carshare/platform';
import type { Channel, GetMessage } from 'amqplib';
import { Gauge, type Registry } from 'prom-client';
import { BroadcastListener, defaultBroadcastBacklog } from './broadcast-listener.ts';
import { ConfirmingPublisher } from './confirming-publisher.ts';
import { describeError } from './describe-error.ts';
import { consumerSettings, type AttemptDependencies } from './consumer-runtime.ts';
import {
  eventList,
  type BroadcastHandler,
  type BroadcastOptions,
  type BroadcastSubscription,
  type EventBus,
  type EventHandler,
  type SubscribeOptions,
  type Subscription,
} from './event-bus.ts';
import { passThroughTracing, type EventTracing } from './event-tracing.ts';
import { consumerMetrics, counterOf, messagingMetricNames, publishedCounter } from './messaging-metrics.ts';
import { PartitionedSubscription, type SubscriptionHost } from './partitioned-subscription.ts';
import { RabbitMqBroadcast } from './rabbitmq-broadcast.ts';
import { RabbitMqConnection } from './rabbitmq-connection.ts';
import { attemptHeader, delayBucket, maxDelayBucket, RabbitMqNames, replayedHeader } from './rabbitmq-names.ts';
import { subjectSlot, subjectSlotCount } from './subject-slot.ts';
import { parseTopic } from './topic-pattern.ts';

export interface RabbitMqEventBusOptions {
  url: string;
  /** Prefix of every exchange and queue; default `carshare`. Tests use a unique one per run. */
  prefix?: string;
  /**
   * Partition queues per consumer group (default 4): the unit of work sharing between instances
   * of a group, each owned by one instance at a time. Fixed once a group exists.
   */
  partitions?: number;
  /** How long publish() keeps trying through an outage before failing Unavailable; default 30 s. */
  publishTimeoutMs?: number;
  /** How long connect() waits for the first connection; default 30 s. */
  connectTimeoutMs?: number;
  /** How often an instance re-counts its group and takes or gives back partitions; default 2 s. */
  rebalanceIntervalMs?: number;
  /** Seconds of silence after which either side drops the connection; default 20. */
  heartbeatSeconds?: number;
  reconnect?: Partial<BackoffPolicy>;
  /** Shown in the broker's connection list, e.g. `user@host-1`. */
  name?: string;
  tracing?: EventTracing;
  registry?: Registry;
  logger?: StructuredLogger;
  random?: () => number;
}

/**
 * The distributed adapter.
 *
 * Topology: a durable topic exchange per event family (`<prefix>.events.user`); events are
 * published persistent, with publisher confirms, under the routing key `<type>.<slot>` where the
 * slot (0–63) is a hash of the subject. Each consumer group has N durable partition queues; slot s
 * is bound to partition s mod N for each of the group's topics, so a subject always lands in the
 * same partition. An instance consumes a partition exclusively, which is what keeps a subject's
 * events in order across instances; instances count themselves through the group's `members`
 * queue and each takes its share of partitions (ceil(N / instances)), handing extras back by
 * finishing what it holds and closing the channel, so the next owner gets the rest in order.
 *
 * Retries go through per-delay-bucket queues (`…delay.<k>`, per-message TTL, dead-lettered back
 * to the group's `return` exchange and so to the same partition). Events that exhaust their
 * attempts go to the group's dead-letter store (SQL in the consuming service). Messages that are
 * not event envelopes at all are rejected into `<prefix>.poison` through a dead-letter exchange.
 */
export class RabbitMqEventBus implements EventBus, SubscriptionHost {
  readonly names: RabbitMqNames;
  readonly #options: RabbitMqEventBusOptions;
  readonly #connection: RabbitMqConnection;
  readonly #partitions: number;
  readonly #publishTimeoutMs: number;
  readonly #deps: AttemptDependencies;
  readonly #logger: StructuredLogger;
  readonly #published: ReturnType<typeof publishedCounter>;
  readonly #publisher: ConfirmingPublisher;
  readonly #subscriptions = new Set<PartitionedSubscription>();
  readonly #broadcasts = new Set<RabbitMqBroadcast>();
  #replaying: Promise<void> | undefined;
  #replayAgain = false;
  #closed = false;

  static async connect(options: RabbitMqEventBusOptions): Promise<RabbitMqEventBus> {
    const bus = new RabbitMqEventBus(options);
    try {
      await bus.#connection.start(options.connectTimeoutMs ?? 30_000);
    } catch (error) {
      await bus.close();
      throw error;
    }
    return bus;
  }

  /** Prefer `connect()`, which waits for the broker; this constructor only prepares. */
  private constructor(options: RabbitMqEventBusOptions) {
    this.#options = options;
    this.names = new RabbitMqNames(options.prefix ?? 'carshare');
    this.#partitions = options.partitions ?? 4;
    if (!Number.isInteger(this.#partitions) || this.#partitions < 1 || this.#partitions > subjectSlotCount) {
      throw new RangeError(`partitions must be 1–${subjectSlotCount}`);
    }
    this.#publishTimeoutMs = options.publishTimeoutMs ?? 30_000;
    this.#logger = options.logger ?? silentLogger;
    this.#deps = {
      tracing: options.tracing ?? passThroughTracing,
      metrics: consumerMetrics(options.registry),
      logger: this.#logger,
      random: options.random ?? Math.random,
    };
    this.#published = publishedCounter(options.registry);
    const registry = options.registry;
    const connected = registry ? brokerConnectedGauge(registry) : undefined;
    const reconnects = registry
      ? counterOf(registry, messagingMetricNames.brokerReconnects, 'Times the connection to the broker was lost', [])
      : undefined;
    this.#connection = new RabbitMqConnection({
      url: options.url,
      name: options.name ?? 'carshare',
      heartbeatSeconds: options.heartbeatSeconds ?? 20,
      reconnect: backoffPolicy({ initialMs: 100, maxMs: 5000, factor: 2, jitter: 0.2, ...options.reconnect }),
      logger: this.#logger,
      onConnected: async (connection) => {
        for (const subscription of this.#subscriptions) await subscription.setUp(connection);
        for (const broadcast of this.#broadcasts) await broadcast.setUp(connection);
        await this.#publisher.connected(connection);
        connected?.inc();
      },
      onDisconnected: () => {
        connected?.dec();
        reconnects?.inc();
        this.#publisher.disconnected();
        for (const subscription of this.#subscriptions) subscription.connectionLost();
        for (const broadcast of this.#broadcasts) broadcast.connectionLost();
      },
    });
    this.#publisher = new ConfirmingPublisher({
      connection: this.#connection,
      prefix: this.names.prefix,
      publishTimeoutMs: this.#publishTimeoutMs,
      logger: this.#logger,
    });
  }

  get isConnected(): boolean {
    return this.#connection.isConnected;
  }

  async publish(events: EventEnvelope | readonly EventEnvelope[]): Promise<void> {
    this.#assertOpen();
    const list = eventList(events);
    for (const event of list) {
      if (!isEventEnvelope(event)) throw InvalidArgument('INVALID_EVENT', 'not an event envelope', { id: (event as { id?: unknown }).id });
    }
    if (list.length === 0) return;
    await this.#publisher.send(
      list.map((event) => ({
        exchange: this.names.family(eventFamily(event.type)),
        routingKey: `${event.type}.${subjectSlot(event.subject)}`,
        event,
        headers: {},
      })),
    );
    const counts = new Map<string, number>();
    for (const event of list) counts.set(eventFamily(event.type), (counts.get(eventFamily(event.type)) ?? 0) + 1);
    for (const [family, count] of counts) this.#published.inc(family, count);
  }

  async subscribe(group: string, topics: readonly string[], handler: EventHandler, options: SubscribeOptions): Promise<Subscription> {
    this.#assertOpen();
    const settings = consumerSettings(group, handler, options);
    if (topics.length === 0) throw InvalidArgument('INVALID_TOPIC', 'subscribe to at least one topic');
    for (const topic of topics) parseTopic(topic);
    const subscription = new PartitionedSubscription(this, settings, [...topics]);
    this.#subscriptions.add(subscription);
    const deadline = Date.now() + this.#publishTimeoutMs;
    try {
      for (;;) {
        const connection = await this.#connection.current(deadline);
        try {
          await subscription.setUp(connection);
          break;
        } catch (error) {
          // A refused declaration is final; a connection that dropped meanwhile is retried.
          if (isBrokerRefusal(error) || Date.now() > deadline) throw error;
        }
      }
    } catch (error) {
      this.#subscriptions.delete(subscription);
      await subscription.close();
      throw error;
    }
    return {
      group,
      close: async () => {
        this.#subscriptions.delete(subscription);
        await subscription.close();
      },
    };
  }

  async subscribeBroadcast(topics: readonly string[], handler: BroadcastHandler, options: BroadcastOptions = {}): Promise<BroadcastSubscription> {
    this.#assertOpen();
    const listener = new BroadcastListener(topics, handler, options, this.#logger);
    const broadcast = new RabbitMqBroadcast({
      names: this.names,
      topics,
      listener,
      maxBacklog: options.maxBacklog ?? defaultBroadcastBacklog,
      onGap: options.onGap,
      logger: this.#logger,
    });
    this.#broadcasts.add(broadcast);
    const deadline = Date.now() + this.#publishTimeoutMs;
    try {
      for (;;) {
        const connection = await this.#connection.current(deadline);
        try {
          await broadcast.setUp(connection);
          break;
        } catch (error) {
          if (isBrokerRefusal(error) || Date.now() > deadline) throw error;
        }
      }
    } catch (error) {
      this.#broadcasts.delete(broadcast);
      await broadcast.close();
      throw error;
    }
    return {
      close: async () => {
        this.#broadcasts.delete(broadcast);
        await broadcast.close();
      },
    };
  }

  async redeliver(group: string, event: EventEnvelope): Promise<void> {
    this.#assertOpen();
    const names = this.names.group(group);
    if (!(await this.#exchangeExists(names.returnExchange))) {
      throw NotFound('CONSUMER_GROUP_NOT_FOUND', `no consumer group ${group} on the broker`, { group });
    }
    await this.#publisher.send([{ exchange: names.returnExchange, routingKey: `replay.${subjectSlot(event.subject)}`, event, headers: {} }]);
  }

  /** Removes a consumer group's queues and exchanges from the broker (its pending events go too). */
  async deleteGroup(group: string): Promise<void> {
    const names = this.names.group(group);
    const channel = await this.#connection.channel(Date.now() + this.#publishTimeoutMs);
    try {
      for (let index = 0; index < subjectSlotCount; index += 1) await channel.deleteQueue(names.partition(index));
      for (let bucket = 0; bucket <= maxDelayBucket; bucket += 1) await channel.deleteQueue(names.delayQueue(bucket));
      await channel.deleteQueue(names.members);
      await channel.deleteExchange(names.retryExchange);
      await channel.deleteExchange(names.returnExchange);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#publisher.close();
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.close()));
    this.#subscriptions.clear();
    await Promise.all([...this.#broadcasts].map((broadcast) => broadcast.close()));
    this.#broadcasts.clear();
    await this.#connection.close();
  }

  // ---- used by subscriptions -------------------------------------------------------------

  get logger(): StructuredLogger {
    return this.#logger;
  }

  get deps(): AttemptDependencies {
    return this.#deps;
  }

  get partitions(): number {
    return this.#partitions;
  }

  get rebalanceIntervalMs(): number {
    return this.#options.rebalanceIntervalMs ?? 2000;
  }

  get random(): () => number {
    return this.#deps.random;
  }

  /** Puts a failed event into the delay queue for its retry, confirmed before the caller acks. */
  async scheduleRetry(group: string, event: EventEnvelope, nextAttempt: number, delayMs: number): Promise<void> {
    const names = this.names.group(group);
    const bucket = delayBucket(delayMs);
    await this.#publisher.ensureDelayQueue(names, bucket);
    await this.#publisher.send([
      {
        exchange: names.retryExchange,
        routingKey: `${bucket}.${subjectSlot(event.subject)}`,
        event,
        headers: { [attemptHeader]: nextAttempt },
        expiration: String(Math.max(0, Math.round(delayMs))),
      },
    ]);
  }

  /**
   * Moves the events parked in `<prefix>.unrouted` (published when no queue was bound for them)
   * back through their family exchanges: called after a group bound its queues, so the events it
   * wants now reach it; the rest return to the tail of `unrouted` through the alternate exchange.
   * Only the messages present at the start are taken, in batches, each batch acknowledged after
   * the broker confirmed its re-publication (a crash in between re-parks them: a duplicate at
   * worst). Calls that overlap are folded into one more pass.
   */
  replayUnrouted(): Promise<void> {
    if (this.#replaying) {
      this.#replayAgain = true;
      return this.#replaying;
    }
    this.#replaying = (async () => {
      do {
        this.#replayAgain = false;
        await this.#replayUnroutedOnce().catch((error: unknown) =>
          this.#logger.warn({ err: describeError(error) }, 'could not replay unroutable events; the next subscription retries'),
        );
      } while (this.#replayAgain && !this.#closed);
    })().finally(() => {
      this.#replaying = undefined;
    });
    return this.#replaying;
  }

  async #replayUnroutedOnce(): Promise<void> {
    if (this.#closed) return;
    const queue = this.names.unroutedQueue();
    const channel = await this.channel();
    try {
      let remaining = (await channel.checkQueue(queue)).messageCount;
      let moved = 0;
      while (remaining > 0 && !this.#closed) {
        const batch: Array<{ message: GetMessage; event: EventEnvelope }> = [];
        let last: GetMessage | undefined;
        while (batch.length < 100 && remaining > 0) {
          const message = await channel.get(queue, { noAck: false });
          if (message === false) {
            remaining = 0;
            break;
          }
          remaining -= 1;
          last = message;
          const event = parseEnvelope(message.content);
          if (event) batch.push({ message, event });
          else this.#logger.error({ messageId: message.properties.messageId }, 'unroutable message is not an event envelope; dropped');
        }
        if (batch.length > 0) {
          await this.#publisher.send(
            batch.map(({ message, event }) => ({
              exchange: message.fields.exchange,
              routingKey: message.fields.routingKey,
              event,
              headers: { ...message.properties.headers, [replayedHeader]: true },
            })),
          );
          moved += batch.length;
        }
        if (last) channel.ack(last, true);
      }
      if (moved > 0) this.#logger.info({ events: moved }, 'replayed unroutable events through their exchanges');
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  async channel(): Promise<Channel> {
    return await this.#connection.channel(Date.now() + this.#publishTimeoutMs);
  }

  // ---- internals --------------------------------------------------------------------------

  async #exchangeExists(exchange: string): Promise<boolean> {
    // A failed check closes the channel it ran on, so it gets a channel of its own.
    const channel = await this.channel();
    try {
      await channel.checkExchange(exchange);
      return true;
    } catch (error) {
      if ((error as { code?: number }).code === 404) return false;
      throw error;
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw Conflict('EVENT_BUS_CLOSED', 'the event bus is closed');
  }
}

function parseEnvelope(content: Buffer): EventEnvelope | undefined {
  try {
    const parsed: unknown = JSON.parse(content.toString('utf8'));
    return isEventEnvelope(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function isBrokerRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return isAppError(error) || code === 403 || code === 404 || code === 406;
}

function brokerConnectedGauge(registry: Registry): Gauge {
  return (
    (registry.getSingleMetric(messagingMetricNames.brokerConnected) as Gauge | undefined) ??
    new Gauge({ name: messagingMetricNames.brokerConnected, help: 'Open connections to the message broker', registers: [registry] })
  );
}

