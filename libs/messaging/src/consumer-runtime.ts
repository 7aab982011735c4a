import type { EventEnvelope } from '@carshare/contracts';
import { backoffDelay, backoffPolicy, type BackoffPolicy, type StructuredLogger } from '@carshare/platform';
import type { DeadLetterSink } from './dead-letter-store.ts';
import { describeError } from './describe-error.ts';
import type { EventHandler, SubscribeOptions } from './event-bus.ts';
import type { EventTracing } from './event-tracing.ts';
import type { ConsumerMetrics } from './messaging-metrics.ts';

export const defaultConcurrency = 16;

export const defaultBackoff: BackoffPolicy = { initialMs: 200, maxMs: 60_000, factor: 2, jitter: 0.2 };

export const defaultMaxAttempts = 5;

/** A subscription's options with defaults applied and checked once. */
export interface ConsumerSettings {
  group: string;
  handler: EventHandler;
  deadLetters: DeadLetterSink;
  maxAttempts: number;
  backoff: BackoffPolicy;
  concurrency: number;
}

const groupPattern = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/;

export function consumerSettings(group: string, handler: EventHandler, options: SubscribeOptions): ConsumerSettings {
  if (!groupPattern.test(group) || group.length > 100) {
    throw new TypeError(`consumer group "${group}" must be lower-case words joined by dots, e.g. analytics.trip-stats`);
  }
  const maxAttempts = options.maxAttempts ?? defaultMaxAttempts;
  const concurrency = options.concurrency ?? defaultConcurrency;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 50) throw new RangeError('maxAttempts must be 1–50');
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be a positive integer');
  return { group, handler, deadLetters: options.deadLetters, maxAttempts, backoff: backoffPolicy({ ...defaultBackoff, ...options.backoff }), concurrency };
}

export type AttemptOutcome =
  | { kind: 'ok' }
  | { kind: 'retry'; delayMs: number; nextAttempt: number }
  | { kind: 'dead_letter' }
  /** Even the dead-letter store failed: try the whole thing again later, losing nothing. */
  | { kind: 'retry_dead_letter'; delayMs: number };

export interface AttemptDependencies {
  tracing: EventTracing;
  metrics: ConsumerMetrics;
  logger: StructuredLogger;
  random: () => number;
}

/**
 * One delivery attempt, shared by both adapters so they decide retries and dead letters alike:
 * run the handler inside the tracing hook, and on failure either compute the retry delay or
 * store the dead letter.
 */
export async function attemptDelivery(
  settings: ConsumerSettings,
  event: EventEnvelope,
  attempt: number,
  deps: AttemptDependencies,
): Promise<AttemptOutcome> {
  const started = performance.now();
  try {
    await deps.tracing.consume(event, { group: settings.group, attempt }, (traceparent) =>
      settings.handler(event, { group: settings.group, attempt, maxAttempts: settings.maxAttempts, traceparent }),
    );
    deps.metrics.observe(settings.group, 'ok', (performance.now() - started) / 1000);
    return { kind: 'ok' };
  } catch (error) {
    const seconds = (performance.now() - started) / 1000;
    if (attempt < settings.maxAttempts) {
      deps.metrics.observe(settings.group, 'retry', seconds);
      const delayMs = backoffDelay(attempt, settings.backoff, deps.random);
      deps.logger.warn(
        { group: settings.group, eventId: event.id, type: event.type, attempt, delayMs, err: describeError(error) },
        'event handler failed; will retry',
      );
      return { kind: 'retry', delayMs, nextAttempt: attempt + 1 };
    }
    deps.metrics.observe(settings.group, 'dead_letter', seconds);
    try {
      await settings.deadLetters.add({
        group: settings.group,
        event,
        error: describeError(error),
        attempts: attempt,
        ...(event.traceparent ? { traceparent: event.traceparent } : {}),
      });
    } catch (storeError) {
      deps.logger.error(
        { group: settings.group, eventId: event.id, err: describeError(storeError) },
        'could not store a dead letter; the event will be tried again',
      );
      return { kind: 'retry_dead_letter', delayMs: backoffDelay(attempt, settings.backoff, deps.random) };
    }
    deps.logger.error(
      { group: settings.group, eventId: event.id, type: event.type, attempts: attempt, err: describeError(error) },
      'event handler gave up; stored as a dead letter',
    );
    return { kind: 'dead_letter' };
  }
}
