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
