import type { EventEnvelope } from '@carshare/contracts';
import { InvalidArgument, type StructuredLogger } from '@carshare/platform';
import { describeError } from './describe-error.ts';
import type { BroadcastHandler, BroadcastOptions } from './event-bus.ts';
import { FifoQueue } from './fifo-queue.ts';
import { topicMatcher } from './topic-pattern.ts';

export const defaultBroadcastBacklog = 10_000;

/**
 * One broadcast subscriber's side, shared by both adapters: matches topics, keeps a bounded
 * backlog (the oldest event goes first when it is full) and calls the handler one event at a
 * time. A handler error is logged and the event is dropped: broadcast is at most once.
 */
export class BroadcastListener {
  readonly matches: (type: string) => boolean;
  readonly #handler: BroadcastHandler;
  readonly #maxBacklog: number;
  readonly #logger: StructuredLogger;
  readonly #backlog = new FifoQueue<EventEnvelope>();
  #draining: Promise<void> | undefined;
  #closed = false;
  #dropped = 0;

  constructor(topics: readonly string[], handler: BroadcastHandler, options: BroadcastOptions, logger: StructuredLogger) {
    if (topics.length === 0) throw InvalidArgument('INVALID_TOPIC', 'subscribe to at least one topic');
    this.matches = topicMatcher(topics);
    const maxBacklog = options.maxBacklog ?? defaultBroadcastBacklog;
    if (!Number.isInteger(maxBacklog) || maxBacklog < 1) throw new RangeError('maxBacklog must be a positive integer');
    this.#handler = handler;
    this.#maxBacklog = maxBacklog;
    this.#logger = logger;
  }

  /** Events dropped because the backlog was full. */
  get dropped(): number {
    return this.#dropped;
  }

  offer(event: EventEnvelope): void {
    if (this.#closed) return;
    this.#backlog.push(event);
    if (this.#backlog.length > this.#maxBacklog) {
      this.#backlog.shift();
      this.#dropped += 1;
      // Once per thousand, so a stuck handler does not flood the log too.
      if (this.#dropped % 1000 === 1) this.#logger.warn({ dropped: this.#dropped }, 'broadcast subscriber is behind; dropping its oldest events');
    }
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = undefined;
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#backlog.removeWhere(() => true);
    await this.#draining;
  }

  async #drain(): Promise<void> {
    // Not inside the publisher's call stack: publish() returns before any handler runs.
    await Promise.resolve();
    for (let event = this.#backlog.shift(); event && !this.#closed; event = this.#backlog.shift()) {
      try {
        await this.#handler(event);
      } catch (error) {
        this.#logger.warn({ eventId: event.id, type: event.type, err: describeError(error) }, 'broadcast handler failed; event dropped');
      }
    }
  }
}
