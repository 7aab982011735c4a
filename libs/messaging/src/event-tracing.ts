import type { EventEnvelope } from '@carshare/contracts';

/**
 * Where the observability layer plugs into the bus without this library depending on an SDK.
 * An implementation typically starts a CONSUMER span whose parent is `event.traceparent`, runs
 * `work` with the span's own traceparent (so events and calls made by the handler join the
 * trace), records the outcome and ends the span.
 */
export interface EventTracing {
  consume<T>(
    event: EventEnvelope,
    delivery: { group: string; attempt: number },
    work: (traceparent: string | undefined) => Promise<T>,
  ): Promise<T>;
}

export const passThroughTracing: EventTracing = {
  consume: (event, _delivery, work) => work(event.traceparent),
};
