import { isEventEnvelope, type EventEnvelope } from '@carshare/contracts';
import { Conflict, type StructuredLogger } from '@carshare/platform';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { attemptDelivery, type AttemptDependencies, type ConsumerSettings } from './consumer-runtime.ts';
import { describeError } from './describe-error.ts';
import { attemptHeader, type GroupNames, type RabbitMqNames } from './rabbitmq-names.ts';
import { declareFamilyExchange } from './rabbitmq-topology.ts';
import { SubjectLanes } from './subject-lanes.ts';
import { subjectSlotCount } from './subject-slot.ts';
import { parseTopic } from './topic-pattern.ts';

/** What a subscription uses of the bus that owns it. */
export interface SubscriptionHost {
  readonly names: RabbitMqNames;
  readonly partitions: number;
  readonly rebalanceIntervalMs: number;
  readonly random: () => number;
  readonly logger: StructuredLogger;
  readonly deps: AttemptDependencies;
  /** Puts a failed event into the delay queue for its retry, confirmed before the caller acks. */
  scheduleRetry(group: string, event: EventEnvelope, nextAttempt: number, delayMs: number): Promise<void>;
  /** Sends parked unroutable events through their family exchanges again, now that new bindings exist. */
  replayUnrouted(): Promise<void>;
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
 * One instance of a consumer group on a RabbitMQ bus: declares the group's partition queues and
 * bindings, joins its members, and every rebalance interval claims or gives back partitions
 * (exclusive consumers) so that each instance holds its share; events of one subject go through
 * one lane at a time, retries through the bus's delay queues.
 */
export class PartitionedSubscription {
  readonly #bus: SubscriptionHost;
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

  constructor(bus: SubscriptionHost, settings: ConsumerSettings, topics: string[]) {
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
        const family = await declareFamilyExchange(channel, prefixNames, parseTopic(topic).family);
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
    // Not awaited: it publishes, which waits for the connection this set-up is part of.
    void this.#bus.replayUnrouted();
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
