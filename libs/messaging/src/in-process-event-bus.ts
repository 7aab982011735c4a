import { eventFamily, isEventEnvelope, type EventEnvelope } from '@carshare/contracts';
import { Conflict, InvalidArgument, NotFound, silentLogger, type StructuredLogger, systemScheduler, type Scheduler } from '@carshare/platform';
import type { Registry } from 'prom-client';
import { BroadcastListener } from './broadcast-listener.ts';
import { attemptDelivery, consumerSettings, type AttemptDependencies, type ConsumerSettings } from './consumer-runtime.ts';
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
import { consumerMetrics, publishedCounter } from './messaging-metrics.ts';
import { FifoQueue } from './fifo-queue.ts';
import { SubjectLanes } from './subject-lanes.ts';
import { topicMatcher } from './topic-pattern.ts';

/**
 * Unroutable events kept in memory per event type for a group yet to subscribe; beyond this the
 * oldest of that type go. Parking exists for start-up (a service publishes before the group that
 * consumes its events has subscribed), which needs a few events of a type, not a stream: per type,
 * so a stream nobody consumes (car.telemetry in a process without a telemetry group) cannot crowd
 * out the rare events a late subscriber needs, nor hold 100,000 events for nobody.
 */
export const maxUnroutedPerType = 1_000;

export interface InProcessEventBusOptions {
  scheduler?: Scheduler;
  /** Source of jitter; tests pin it. */
  random?: () => number;
  tracing?: EventTracing;
  registry?: Registry;
  logger?: StructuredLogger;
}

interface Delivery {
  event: EventEnvelope;
  attempt: number;
}

interface Instance {
  settings: ConsumerSettings;
  running: number;
  closed: boolean;
  onIdle: Array<() => void>;
}

/**
 * A consumer group: its queue outlives the instances subscribed to it (like a durable queue),
 * so events published while no instance is attached wait for the next one.
 */
class Group {
  readonly name: string;
  readonly topics = new Set<string>();
  matches: (type: string) => boolean = () => false;
  readonly instances: Instance[] = [];
  readonly lanes: SubjectLanes<Delivery, Instance>;
  #nextInstance = 0;

  constructor(name: string, run: (group: Group, delivery: Delivery, instance: Instance) => Promise<void>) {
    this.name = name;
    this.lanes = new SubjectLanes<Delivery, Instance>(
      () => this.#acquire(),
      (delivery, instance) => run(this, delivery, instance),
    );
  }

  addTopics(topics: readonly string[]): void {
    for (const topic of topics) this.topics.add(topic);
    this.matches = topicMatcher([...this.topics]);
  }

  // Round-robin over instances with a free slot: that is how instances share the work.
  #acquire(): Instance | undefined {
    const count = this.instances.length;
    for (let offset = 0; offset < count; offset += 1) {
      const index = (this.#nextInstance + offset) % count;
      const instance = this.instances[index] as Instance;
      if (!instance.closed && instance.running < instance.settings.concurrency) {
        this.#nextInstance = (index + 1) % count;
        instance.running += 1;
        return instance;
      }
    }
    return undefined;
  }
}

/**
 * The embedded adapter: groups, retries and dead letters in this process's memory. Nothing is
 * lost while the process lives; what is queued or waiting for a retry when it ends is gone, which
 * is why events leave services through the outbox (re-published after a crash) in any topology.
 */
export class InProcessEventBus implements EventBus {
  readonly #groups = new Map<string, Group>();
  readonly #listeners = new Set<BroadcastListener>();
  /**
   * Events no group matched when published, by type, for the first group that will (as RabbitMQ's
   * `unrouted` queue); numbered so a replay over several types keeps the order they were published in.
   */
  readonly #unrouted = new Map<string, FifoQueue<{ seq: number; event: EventEnvelope }>>();
  #unroutedSeq = 0;
  readonly #droppedUnrouted = new Map<string, number>();
  readonly #scheduler: Scheduler;
  readonly #deps: AttemptDependencies;
  readonly #published: ReturnType<typeof publishedCounter>;
  readonly #timers = new Set<unknown>();
  #closed = false;

  constructor(options: InProcessEventBusOptions = {}) {
    this.#scheduler = options.scheduler ?? systemScheduler;
    this.#deps = {
      tracing: options.tracing ?? passThroughTracing,
      metrics: consumerMetrics(options.registry),
      logger: options.logger ?? silentLogger,
      random: options.random ?? Math.random,
    };
    this.#published = publishedCounter(options.registry);
  }

  async publish(events: EventEnvelope | readonly EventEnvelope[]): Promise<void> {
    this.#assertOpen();
    const list = eventList(events);
    for (const event of list) {
      if (!isEventEnvelope(event)) throw InvalidArgument('INVALID_EVENT', 'not an event envelope', { id: (event as { id?: unknown }).id });
    }
    for (const event of list) {
      if (!this.#route(event)) this.#park(event);
      for (const listener of this.#listeners) {
        if (listener.matches(event.type)) listener.offer(event);
      }
      this.#published.inc(eventFamily(event.type), 1);
    }
  }

  async subscribe(group: string, topics: readonly string[], handler: EventHandler, options: SubscribeOptions): Promise<Subscription> {
    this.#assertOpen();
    const settings = consumerSettings(group, handler, options);
    if (topics.length === 0) throw InvalidArgument('INVALID_TOPIC', 'subscribe to at least one topic');
    let runtime = this.#groups.get(group);
    if (!runtime) {
      runtime = new Group(group, (owner, delivery, instance) => this.#deliver(owner, delivery, instance));
      this.#groups.set(group, runtime);
    }
    runtime.addTopics(topics);
    this.#replayUnrouted();
    const instance: Instance = { settings, running: 0, closed: false, onIdle: [] };
    runtime.instances.push(instance);
    runtime.lanes.pump();
    const owner = runtime;
    return {
      group,
      close: async () => {
        if (instance.closed) return;
        instance.closed = true;
        owner.instances.splice(owner.instances.indexOf(instance), 1);
        if (instance.running > 0) await new Promise<void>((resolve) => instance.onIdle.push(resolve));
      },
    };
  }

  async subscribeBroadcast(topics: readonly string[], handler: BroadcastHandler, options: BroadcastOptions = {}): Promise<BroadcastSubscription> {
    this.#assertOpen();
    const listener = new BroadcastListener(topics, handler, options, this.#deps.logger);
    this.#listeners.add(listener);
    return {
      close: async () => {
        this.#listeners.delete(listener);
        await listener.close();
      },
    };
  }

  async redeliver(group: string, event: EventEnvelope): Promise<void> {
    this.#assertOpen();
    const runtime = this.#groups.get(group);
    if (!runtime) throw NotFound('CONSUMER_GROUP_NOT_FOUND', `no consumer group ${group} on this bus`, { group });
    runtime.lanes.push(event.subject, { event, attempt: 1 });
  }

  /** Hands `event` to every group whose topics match; false when none does. */
  #route(event: EventEnvelope): boolean {
    let routed = false;
    for (const group of this.#groups.values()) {
      if (group.matches(event.type)) {
        group.lanes.push(event.subject, { event, attempt: 1 });
        routed = true;
      }
    }
    return routed;
  }

  #park(event: EventEnvelope): void {
    let parked = this.#unrouted.get(event.type);
    if (!parked) {
      parked = new FifoQueue();
      this.#unrouted.set(event.type, parked);
    }
    parked.push({ seq: this.#unroutedSeq++, event });
    if (parked.length <= maxUnroutedPerType) return;
    parked.shift();
    const dropped = (this.#droppedUnrouted.get(event.type) ?? 0) + 1;
    this.#droppedUnrouted.set(event.type, dropped);
    // Once per type, then every 100,000: a stream nobody consumes would otherwise write a line
    // per event and spend more on logging than on the events.
    if (dropped % 100_000 === 1) {
      this.#deps.logger.info(
        { type: event.type, kept: maxUnroutedPerType, droppedSoFar: dropped },
        'no consumer group subscribes to this event type; keeping only its newest for one that may still subscribe',
      );
    }
  }

  /** Events of `type` parked for a group yet to subscribe (tests, diagnostics). */
  unroutedCount(type: string): number {
    return this.#unrouted.get(type)?.length ?? 0;
  }

  // A group subscribed (or widened its topics): what it matches among the parked events goes to
  // it, in the order they were published; the types nobody matches stay parked untouched.
  #replayUnrouted(): void {
    const due: Array<{ seq: number; event: EventEnvelope }> = [];
    for (const [type, parked] of this.#unrouted) {
      if (![...this.#groups.values()].some((group) => group.matches(type))) continue;
      due.push(...parked.toArray());
      this.#unrouted.delete(type);
    }
    due.sort((a, b) => a.seq - b.seq);
    for (const { event } of due) this.#route(event);
  }

  /** Events queued or in progress for a group: 0 once it has caught up. */
  backlog(group: string): number {
    return this.#groups.get(group)?.lanes.size ?? 0;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) this.#scheduler.clearTimeout(timer);
    this.#timers.clear();
    for (const group of this.#groups.values()) {
      for (const instance of group.instances) instance.closed = true;
    }
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    await Promise.all(listeners.map((listener) => listener.close()));
    await Promise.all([...this.#groups.values()].map((group) => group.lanes.whenNothingRunning()));
  }

  async #deliver(group: Group, delivery: Delivery, instance: Instance): Promise<void> {
    try {
      const outcome = await attemptDelivery(instance.settings, delivery.event, delivery.attempt, this.#deps);
      if (outcome.kind === 'retry' || outcome.kind === 'retry_dead_letter') {
        const nextAttempt = outcome.kind === 'retry' ? outcome.nextAttempt : delivery.attempt;
        this.#later(outcome.delayMs, () => group.lanes.push(delivery.event.subject, { event: delivery.event, attempt: nextAttempt }));
      }
    } finally {
      instance.running -= 1;
      if (instance.running === 0 && instance.onIdle.length > 0) {
        for (const resolve of instance.onIdle.splice(0)) resolve();
      }
    }
  }

  #later(ms: number, callback: () => void): void {
    if (this.#closed) return;
    const timer = this.#scheduler.setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#closed) callback();
    }, ms);
    this.#timers.add(timer);
  }

  #assertOpen(): void {
    if (this.#closed) throw Conflict('EVENT_BUS_CLOSED', 'the event bus is closed');
  }
}
