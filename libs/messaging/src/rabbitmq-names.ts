/** Header carrying the attempt number of a retried event (1 on its first delivery). */
export const attemptHeader = 'x-carshare-attempt';
/**
 * Header on an unroutable event sent through its family exchange again once a group bound for
 * it: the consumer groups want it, broadcast subscribers (live state) must not see it late.
 */
export const replayedHeader = 'x-carshare-replayed';
/** Delay buckets: queue k holds retries due in [2^k, 2^(k+1)) ms; 2^22 ms is about 70 minutes. */
export const maxDelayBucket = 22;

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

  /** Every family exchange's alternate exchange: events no queue was bound for land here. */
  unroutedExchange(): string {
    return `${this.prefix}.unrouted`;
  }

  /** Where unroutable events wait (durable) until a group that wants them binds. */
  unroutedQueue(): string {
    return `${this.prefix}.unrouted`;
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

/** The delay queue a retry due in `delayMs` waits in. */
export function delayBucket(delayMs: number): number {
  if (delayMs < 2) return 0;
  return Math.min(maxDelayBucket, Math.floor(Math.log2(delayMs)));
}
