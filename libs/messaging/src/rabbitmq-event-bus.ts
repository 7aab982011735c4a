import { eventFamily, isEventEnvelope, type EventEnvelope } from '@carshare/contracts';
import { backoffDelay, backoffPolicy, type BackoffPolicy, Conflict, InvalidArgument, isAppError, NotFound, silentLogger, type StructuredLogger, Unavailable } from '@carshare/platform';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { Gauge, type Registry } from 'prom-client';
import { attemptDelivery, consumerSettings, type AttemptDependencies, type ConsumerSettings } from './consumer-runtime.ts';
import { describeError } from './describe-error.ts';
import { eventList, type EventBus, type EventHandler, type SubscribeOptions, type Subscription } from './event-bus.ts';
import { passThroughTracing, type EventTracing } from './event-tracing.ts';
import { consumerMetrics, counterOf, messagingMetricNames, publishedCounter } from './messaging-metrics.ts';
import { RabbitMqConnection } from './rabbitmq-connection.ts';
import { SubjectLanes } from './subject-lanes.ts';
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

const attemptHeader = 'x-carshare-attempt';
/** Delay buckets: queue k holds retries due in [2^k, 2^(k+1)) ms; 2^22 ms is about 70 minutes. */
const maxDelayBucket = 22;

// Between attempts to get a batch confirmed: 100 ms doubling to 3.2 s, without jitter (a
// publisher retries alone against its own deadline; the broker's return is what it waits for).
const publishRetryBackoff = backoffPolicy({ initialMs: 100, maxMs: 3_200, factor: 2, jitter: 0 });

/** Names of everything on the broker, derived from the prefix so tests can isolate themselves. */
export class RabbitMqNames {
  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  family(family: string): string {
    return `${this.prefix}.events.${family}`;
  }

  poisonExchange(): string {
    return `${this.prefix}.poison`;
  }

  poisonQueue(): string {
    return `${this.prefix}.poison`;
  }

  group(group: string): GroupNames {
    const base = `${this.prefix}.group.${group}`;
    return {
      base,
      partition: (index) => `${base}.p${index}`,
      members: `${base}.members`,
      retryExchange: `${base}.retry`,
      returnExchange: `${base}.return`,
      delayQueue: (bucket) => `${base}.delay.${bucket}`,
    };
  }
}

export interface GroupNames {
  base: string;
  partition(index: number): string;
  /** Every instance consumes from it (it never holds messages): its consumer count is the group size. */
  members: string;
  retryExchange: string;
  returnExchange: string;
  delayQueue(bucket: number): string;
}

interface Claim {
  partition: number;
  channel: Channel;
  state: 'active' | 'draining' | 'closed';
  inFlight: number;
  drained: Array<() => void>;
}

interface RabbitDelivery {
  claim: Claim;
  message: ConsumeMessage;
  event: EventEnvelope;
  attempt: number;
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
export class RabbitMqEventBus implements EventBus {
  readonly names: RabbitMqNames;
  readonly #options: RabbitMqEventBusOptions;
  readonly #connection: RabbitMqConnection;
  readonly #partitions: number;
  readonly #publishTimeoutMs: number;
  readonly #deps: AttemptDependencies;
  readonly #logger: StructuredLogger;
  readonly #published: ReturnType<typeof publishedCounter>;
  readonly #subscriptions = new Set<RabbitSubscription>();
  /** Exchanges known to exist on the current connection. */
  readonly #declared = new Set<string>();
  #publishChannel: ConfirmChannel | undefined;
  #publishChannelOpening: Promise<ConfirmChannel> | undefined;
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
        this.#declared.clear();
        for (const subscription of this.#subscriptions) await subscription.setUp(connection);
        // Opened now rather than by the first publish, which would otherwise pay for it.
        this.#adoptPublishChannel(await connection.createConfirmChannel());
        connected?.inc();
      },
      onDisconnected: () => {
        connected?.dec();
        reconnects?.inc();
        this.#publishChannel = undefined;
        for (const subscription of this.#subscriptions) subscription.connectionLost();
      },
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
    await this.#sendReliably(
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
    const subscription = new RabbitSubscription(this, settings, [...topics]);
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

  async redeliver(group: string, event: EventEnvelope): Promise<void> {
    this.#assertOpen();
    const names = this.names.group(group);
    if (!(await this.#exchangeExists(names.returnExchange))) {
      throw NotFound('CONSUMER_GROUP_NOT_FOUND', `no consumer group ${group} on the broker`, { group });
    }
    await this.#sendReliably([{ exchange: names.returnExchange, routingKey: `replay.${subjectSlot(event.subject)}`, event, headers: {} }]);
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
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.close()));
    this.#subscriptions.clear();
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
    await this.#ensureDelayQueue(names, bucket);
    await this.#sendReliably([
      {
        exchange: names.retryExchange,
        routingKey: `${bucket}.${subjectSlot(event.subject)}`,
        event,
        headers: { [attemptHeader]: nextAttempt },
        expiration: String(Math.max(0, Math.round(delayMs))),
      },
    ]);
  }

  async channel(): Promise<Channel> {
    return await this.#connection.channel(Date.now() + this.#publishTimeoutMs);
  }

  // ---- internals --------------------------------------------------------------------------

  async #ensureDelayQueue(names: GroupNames, bucket: number): Promise<void> {
    const queue = names.delayQueue(bucket);
    if (this.#declared.has(queue)) return;
    const channel = await this.channel();
    try {
      await channel.assertExchange(names.retryExchange, 'topic', { durable: true });
      await channel.assertQueue(queue, { durable: true, arguments: { 'x-dead-letter-exchange': names.returnExchange } });
      await channel.bindQueue(queue, names.retryExchange, `${bucket}.*`);
    } finally {
      await channel.close().catch(() => undefined);
    }
    this.#declared.add(queue);
  }

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

  async #sendReliably(messages: OutgoingMessage[]): Promise<void> {
    const deadline = Date.now() + this.#publishTimeoutMs;
    let pending = messages;
    let failures = 0;
    for (;;) {
      let lastError: unknown;
      try {
        const channel = await this.#publishChannelWithin(deadline);
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
        throw Unavailable('EVENT_BUS_UNAVAILABLE', `RabbitMQ did not confirm ${pending.length} event(s) within ${this.#publishTimeoutMs} ms`, {}, { cause: lastError });
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(remaining, backoffDelay(failures, publishRetryBackoff))));
    }
  }

  async #declareExchanges(channel: ConfirmChannel, messages: OutgoingMessage[]): Promise<void> {
    for (const { exchange } of messages) {
      if (this.#declared.has(exchange)) continue;
      // Family exchanges are created by whoever comes first, publisher or consumer; the group's
      // own exchanges by its subscription, so a replay for a vanished group fails instead.
      if (exchange.startsWith(`${this.names.prefix}.events.`)) await channel.assertExchange(exchange, 'topic', { durable: true });
      this.#declared.add(exchange);
    }
  }

  async #publishChannelWithin(deadline: number): Promise<ConfirmChannel> {
    if (this.#publishChannel) return this.#publishChannel;
    this.#publishChannelOpening ??= (async () => this.#adoptPublishChannel(await this.#connection.confirmChannel(deadline)))().finally(() => {
      this.#publishChannelOpening = undefined;
    });
    return await this.#publishChannelOpening;
  }

  #adoptPublishChannel(channel: ConfirmChannel): ConfirmChannel {
    channel.on('error', (error: Error) => this.#logger.warn({ err: describeError(error) }, 'RabbitMQ publish channel closed by the broker'));
    channel.on('close', () => {
      if (this.#publishChannel === channel) this.#publishChannel = undefined;
    });
    this.#publishChannel = channel;
    return channel;
  }

  #assertOpen(): void {
    if (this.#closed) throw Conflict('EVENT_BUS_CLOSED', 'the event bus is closed');
  }
}

interface OutgoingMessage {
  exchange: string;
  routingKey: string;
  event: EventEnvelope;
  headers: Record<string, unknown>;
  expiration?: string;
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

function delayBucket(delayMs: number): number {
  if (delayMs < 2) return 0;
  return Math.min(maxDelayBucket, Math.floor(Math.log2(delayMs)));
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

/** One instance of a consumer group on this bus. */
class RabbitSubscription {
  readonly #bus: RabbitMqEventBus;
  readonly #settings: ConsumerSettings;
  readonly #topics: string[];
  readonly #names: GroupNames;
  readonly #claims = new Map<number, Claim>();
  readonly #lanes: SubjectLanes<RabbitDelivery, true>;
  #running = 0;
  #connection: ChannelModel | undefined;
  #setUpFor: ChannelModel | undefined;
  #setUpChain: Promise<void> = Promise.resolve();
  #control: Channel | undefined;
  #timer: NodeJS.Timeout | undefined;
  #rebalancing: Promise<void> | undefined;
  #closed = false;

  constructor(bus: RabbitMqEventBus, settings: ConsumerSettings, topics: string[]) {
    this.#bus = bus;
    this.#settings = settings;
    this.#topics = topics;
    this.#names = bus.names.group(settings.group);
    this.#lanes = new SubjectLanes<RabbitDelivery, true>(
      () => {
        if (this.#running >= this.#settings.concurrency) return undefined;
        this.#running += 1;
        return true;
      },
      (delivery) => this.#handle(delivery),
    );
  }

  /** Declares the group's topology and joins its members; runs again after every reconnect. */
  setUp(connection: ChannelModel): Promise<void> {
    const run = this.#setUpChain.then(() => this.#setUp(connection));
    this.#setUpChain = run.catch(() => undefined);
    return run;
  }

  connectionLost(): void {
    this.#connection = undefined;
    this.#setUpFor = undefined;
    this.#control = undefined;
    clearTimeout(this.#timer);
    for (const claim of this.#claims.values()) this.#claimClosed(claim);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#rebalancing;
    await Promise.all([...this.#claims.values()].map((claim) => this.#release(claim)));
    await this.#control?.close().catch(() => undefined);
    this.#control = undefined;
  }

  async #setUp(connection: ChannelModel): Promise<void> {
    if (this.#closed || this.#setUpFor === connection) return;
    const names = this.#names;
    const partitions = this.#bus.partitions;
    const prefixNames = this.#bus.names;
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    try {
      await this.#checkPartitionCount(connection);
      await channel.assertExchange(prefixNames.poisonExchange(), 'fanout', { durable: true });
      await channel.assertQueue(prefixNames.poisonQueue(), { durable: true });
      await channel.bindQueue(prefixNames.poisonQueue(), prefixNames.poisonExchange(), '');
      await channel.assertExchange(names.retryExchange, 'topic', { durable: true });
      await channel.assertExchange(names.returnExchange, 'topic', { durable: true });
      for (let index = 0; index < partitions; index += 1) {
        await channel.assertQueue(names.partition(index), { durable: true, arguments: { 'x-dead-letter-exchange': prefixNames.poisonExchange() } });
      }
      const bindings: Array<Promise<unknown>> = [];
      for (const topic of this.#topics) {
        const family = prefixNames.family(parseTopic(topic).family);
        await channel.assertExchange(family, 'topic', { durable: true });
        for (let slot = 0; slot < subjectSlotCount; slot += 1) {
          bindings.push(channel.bindQueue(names.partition(slot % partitions), family, `${topic}.${slot}`));
        }
      }
      for (let slot = 0; slot < subjectSlotCount; slot += 1) {
        bindings.push(channel.bindQueue(names.partition(slot % partitions), names.returnExchange, `*.${slot}`));
      }
      await Promise.all(bindings);
      await channel.assertQueue(names.members, { durable: true });
    } finally {
      await channel.close().catch(() => undefined);
    }
    const control = await connection.createChannel();
    control.on('error', () => {});
    await control.consume(names.members, () => {}, { noAck: true });
    if (this.#closed) {
      // Closed while setting up: do not stay counted as a member.
      await control.close().catch(() => undefined);
      return;
    }
    this.#control = control;
    this.#connection = connection;
    this.#setUpFor = connection;
    this.#scheduleRebalance(0);
  }

  /**
   * Slots are spread over partitions by `slot mod N`; queues made for another N would keep their
   * bindings and receive events twice, so a changed partition count is refused.
   */
  async #checkPartitionCount(connection: ChannelModel): Promise<void> {
    const exists = async (queue: string): Promise<boolean> => {
      const probe = await connection.createChannel();
      probe.on('error', () => {});
      try {
        await probe.checkQueue(queue);
        return true;
      } catch (error) {
        if ((error as { code?: number }).code === 404) return false;
        throw error;
      } finally {
        await probe.close().catch(() => undefined);
      }
    };
    const partitions = this.#bus.partitions;
    // A new group has nothing to compare with (and each probe of a missing queue is an error line in the broker's log).
    if (!(await exists(this.#names.partition(0)))) return;
    const fewer = !(await exists(this.#names.partition(partitions - 1)));
    const beyond = !fewer && partitions < subjectSlotCount && (await exists(this.#names.partition(partitions)));
    if (beyond || fewer) {
      throw Conflict(
        'PARTITION_COUNT_CHANGED',
        `consumer group ${this.#settings.group} exists with a different partition count than ${partitions}; drain and delete the group to change it`,
        { group: this.#settings.group },
      );
    }
  }

  #scheduleRebalance(delayMs: number): void {
    clearTimeout(this.#timer);
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#rebalancing = this.#rebalance()
        .catch((error: unknown) => this.#bus.logger.warn({ group: this.#settings.group, err: describeError(error) }, 'rebalancing partitions failed'))
        .finally(() => {
          this.#rebalancing = undefined;
          const interval = this.#bus.rebalanceIntervalMs;
          this.#scheduleRebalance(interval * (0.8 + 0.4 * this.#bus.random()));
        });
    }, delayMs);
  }

  async #rebalance(): Promise<void> {
    const connection = this.#connection;
    if (this.#closed || !connection) return;
    const partitions = this.#bus.partitions;
    const probe = await connection.createChannel();
    probe.on('error', () => {});
    try {
      const { consumerCount: members } = await probe.checkQueue(this.#names.members);
      const share = Math.ceil(partitions / Math.max(1, members));
      const owned = [...this.#claims.values()].filter((claim) => claim.state === 'active');
      if (owned.length > share) {
        const extras = owned.sort((a, b) => b.partition - a.partition).slice(0, owned.length - share);
        await Promise.all(extras.map((claim) => this.#release(claim)));
        return;
      }
      let count = owned.length;
      const offset = Math.floor(this.#bus.random() * partitions);
      for (let step = 0; step < partitions && count < share && !this.#closed; step += 1) {
        const partition = (offset + step) % partitions;
        if (this.#claims.has(partition)) continue;
        const { consumerCount } = await probe.checkQueue(this.#names.partition(partition));
        if (consumerCount > 0) continue;
        if (await this.#claim(connection, partition)) count += 1;
      }
    } finally {
      await probe.close().catch(() => undefined);
    }
  }

  async #claim(connection: ChannelModel, partition: number): Promise<boolean> {
    if (this.#connection !== connection) return false;
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    const claim: Claim = { partition, channel, state: 'active', inFlight: 0, drained: [] };
    channel.on('close', () => this.#claimClosed(claim));
    try {
      await channel.prefetch(this.#settings.concurrency);
      this.#claims.set(partition, claim);
      await channel.consume(this.#names.partition(partition), (message) => this.#receive(claim, message), { exclusive: true });
      return true;
    } catch {
      // Another instance got there first (ACCESS_REFUSED closes the channel).
      this.#claimClosed(claim);
      return false;
    }
  }

  #receive(claim: Claim, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled us (queue deleted): give the partition up.
      void claim.channel.close().catch(() => undefined);
      return;
    }
    // Not acknowledged: closing the channel hands it back to the queue in its place.
    if (claim.state !== 'active') return;
    let event: unknown;
    try {
      event = JSON.parse(message.content.toString('utf8'));
    } catch {
      event = undefined;
    }
    if (!isEventEnvelope(event)) {
      this.#bus.logger.error({ group: this.#settings.group, messageId: message.properties.messageId }, 'not an event envelope; moved to the poison queue');
      claim.channel.nack(message, false, false);
      return;
    }
    const header = Number(message.properties.headers?.[attemptHeader]);
    const attempt = Number.isInteger(header) && header >= 1 ? header : 1;
    this.#lanes.push(event.subject, { claim, message, event, attempt });
  }

  async #handle(delivery: RabbitDelivery): Promise<void> {
    const { claim, message, event, attempt } = delivery;
    claim.inFlight += 1;
    try {
      // Its channel is gone, so the broker has already given this message to someone else.
      if (claim.state === 'closed') return;
      const outcome = await attemptDelivery(this.#settings, event, attempt, this.#bus.deps);
      if (outcome.kind === 'retry' || outcome.kind === 'retry_dead_letter') {
        const nextAttempt = outcome.kind === 'retry' ? outcome.nextAttempt : attempt;
        try {
          await this.#bus.scheduleRetry(this.#settings.group, event, nextAttempt, outcome.delayMs);
        } catch (error) {
          this.#bus.logger.error({ group: this.#settings.group, eventId: event.id, err: describeError(error) }, 'could not schedule a retry; returning the event to its queue');
          await new Promise((resolve) => setTimeout(resolve, Math.min(outcome.delayMs, 5000)));
          settle(claim, () => claim.channel.nack(message, false, true));
          return;
        }
      }
      settle(claim, () => claim.channel.ack(message));
    } finally {
      claim.inFlight -= 1;
      this.#running -= 1;
      if (claim.inFlight === 0 && claim.drained.length > 0) {
        for (const resolve of claim.drained.splice(0)) resolve();
      }
    }
  }

  /** Finishes what is in hand for the partition, then closes its channel: the rest goes back in order. */
  async #release(claim: Claim): Promise<void> {
    if (claim.state === 'closed') return;
    claim.state = 'draining';
    this.#lanes.discardQueued((delivery) => delivery.claim === claim);
    if (claim.inFlight > 0) await new Promise<void>((resolve) => claim.drained.push(resolve));
    await claim.channel.close().catch(() => undefined);
    this.#claimClosed(claim);
  }

  #claimClosed(claim: Claim): void {
    if (claim.state === 'closed') return;
    claim.state = 'closed';
    if (this.#claims.get(claim.partition) === claim) this.#claims.delete(claim.partition);
    this.#lanes.discardQueued((delivery) => delivery.claim === claim);
    if (!this.#closed && this.#connection) this.#scheduleRebalance(this.#bus.rebalanceIntervalMs);
  }
}

function settle(claim: Claim, action: () => void): void {
  if (claim.state === 'closed') return;
  try {
    action();
  } catch {
    // The channel closed under us; the broker redelivers and the inbox absorbs the repeat.
  }
}
