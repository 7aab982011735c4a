import type { EventEnvelope } from '@carshare/contracts';
import type { BackoffPolicy } from '@carshare/platform';
import type { DeadLetterSink } from './dead-letter-store.ts';

export interface DeliveryContext {
  readonly group: string;
  /** 1 on the first delivery; a handler that crashed the process does not count as an attempt. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** The consumer span's traceparent when tracing hooks are installed, else the event's own. */
  readonly traceparent: string | undefined;
}

/** Resolving acknowledges the event; throwing schedules a retry (or a dead letter when exhausted). */
export type EventHandler = (event: EventEnvelope, context: DeliveryContext) => Promise<void>;

export interface SubscribeOptions {
  /** Where events go after `maxAttempts` failures: normally the consuming service's SQL table. */
  deadLetters: DeadLetterSink;
  /** Deliveries including the first; default 5. */
  maxAttempts?: number;
  backoff?: Partial<BackoffPolicy>;
  /** Events one instance handles at once (different subjects only); default 16. */
  concurrency?: number;
}

export interface Subscription {
  readonly group: string;
  /** Stops taking events and waits for the ones in progress; the group's queue keeps filling. */
  close(): Promise<void>;
}

/** Called for each event a broadcast subscription receives; a throw is logged and the event dropped. */
export type BroadcastHandler = (event: EventEnvelope) => void | Promise<void>;

export interface BroadcastOptions {
  /**
   * Events waiting for this subscriber beyond which the oldest are dropped (a slow live feed
   * wants the newest, and an unbounded backlog would grow without limit); default 10 000.
   */
  maxBacklog?: number;
  /**
   * Called when the subscription is receiving again after the connection to the broker was
   * lost: events published in between were not delivered, so a cache should reload what it
   * holds (never called in-process, where there is no connection to lose).
   */
  onGap?: () => void;
}

export interface BroadcastSubscription {
  /** Stops receiving and waits for the handler call in progress. */
  close(): Promise<void>;
}

/**
 * At-least-once publish/subscribe. Every consumer group receives each published event (once,
 * barring redelivery after a crash, which the inbox absorbs); the instances of one group share
 * the events between them; within a group the events of one subject are handled one at a time
 * in publish order, except that an event waiting for a retry can be overtaken by later ones.
 */
export interface EventBus {
  /** Resolves once every event is durably accepted (broker-confirmed, or queued in-process). */
  publish(events: EventEnvelope | readonly EventEnvelope[]): Promise<void>;
  /**
   * `topics` are event types or patterns of them: `*` stands for one word, `#` for any number,
   * and the first word (the family) must be literal: `user.registered`, `user.*`, `car.#`.
   */
  subscribe(group: string, topics: readonly string[], handler: EventHandler, options: SubscribeOptions): Promise<Subscription>;
  /**
   * Broadcast: this subscriber (e.g. one gateway process) receives every event matching `topics`,
   * as does every other broadcast subscriber, instead of sharing them as a group's instances do.
   * Delivery is **at most once, while connected**: nothing is queued for a subscriber that is
   * not there, a handler error is logged and not retried, nothing reaches the inbox or dead
   * letters, and events published while the connection is down are missed (`onGap` says so).
   * That fits caches, deny lists and live feeds, which can reload or skip; anything that must
   * see every event subscribes as a consumer group. Events arrive in publish order per publisher;
   * the handler runs one event at a time.
   */
  subscribeBroadcast(topics: readonly string[], handler: BroadcastHandler, options?: BroadcastOptions): Promise<BroadcastSubscription>;
  /** Delivers `event` again to `group` only, as a first attempt: used to replay dead letters. */
  redeliver(group: string, event: EventEnvelope): Promise<void>;
  close(): Promise<void>;
}

function isList(events: EventEnvelope | readonly EventEnvelope[]): events is readonly EventEnvelope[] {
  return Array.isArray(events);
}

/** `publish` takes one event or several: this gives the several. */
export function eventList(events: EventEnvelope | readonly EventEnvelope[]): readonly EventEnvelope[] {
  return isList(events) ? events : [events];
}
