import type { EventEnvelope } from '@carshare/contracts';
import type { Clock, Scheduler } from '@carshare/platform';
import type { ProjectedBatch, StatsStore } from './ports.ts';

interface Waiting {
  event: EventEnvelope;
  group: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface ProjectionWriterOptions {
  store: StatsStore;
  clock: Clock;
  /** Most events one transaction takes. */
  maxBatch: number;
  /**
   * How long the first event of a quiet spell waits for others before its transaction (0: none).
   * Events that arrive while a transaction runs go into the next one anyway; this gathers the
   * ones that trickle in (a trip's 8 events come seconds apart, each alone was a transaction of
   * ~5 statements on the shared PGlite session).
   */
  gatherMs?: number;
  /** Times the gathering (a fake one in tests). */
  scheduler?: Scheduler;
  /** Told about every committed batch (metrics). */
  onCommitted?: (batch: ProjectedBatch, groups: ReadonlyMap<string, string>, committedAt: number) => void;
}

/**
 * Group commit for the consumers: an event's handler waits until the transaction that archived
 * and projected it has committed, and every event that arrived while one transaction ran goes
 * into the next. One statement a row was ~600 events/s on PGlite here; a batch costs a handful of
 * statements whatever its size, and nothing is acknowledged before it is durable.
 */
export class ProjectionWriter {
  readonly #options: ProjectionWriterOptions;
  #queue: Waiting[] = [];
  #draining = false;
  #gathering: { handle: unknown } | undefined;

  constructor(options: ProjectionWriterOptions) {
    this.#options = options;
  }

  /** Resolves once `event` is archived and in the views (or was already); rejects when its batch failed. */
  write(event: EventEnvelope, group: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ event, group, resolve, reject });
      if (this.#draining) {
        if (this.#gathering !== undefined && this.#queue.length >= this.#options.maxBatch) this.flush();
        return;
      }
      this.#draining = true;
      const { gatherMs = 0, scheduler } = this.#options;
      if (gatherMs > 0 && scheduler !== undefined && this.#queue.length < this.#options.maxBatch) {
        this.#gathering = { handle: scheduler.setTimeout(() => this.flush(), gatherMs) };
        return;
      }
      // #drain settles every waiter itself and never throws.
      void this.#drain();
    });
  }

  /** Ends a gathering at once (a full batch, or the consumers closing). */
  flush(): void {
    const gathering = this.#gathering;
    if (gathering === undefined) return;
    this.#gathering = undefined;
    this.#options.scheduler?.clearTimeout(gathering.handle);
    void this.#drain();
  }

  /** Events waiting for a transaction: the consumers' backlog inside this instance. */
  get waiting(): number {
    return this.#queue.length;
  }

  async #drain(): Promise<void> {
    for (;;) {
      // The flag drops in the same tick as the emptiness check: a write() that runs in a
      // waiter's continuation must find it down, or its event would wait for a drain that is over.
      if (this.#queue.length === 0) {
        this.#draining = false;
        return;
      }
      const batch = this.#queue.splice(0, this.#options.maxBatch);
      try {
        await this.#commit(batch);
      } catch (error) {
        if (batch.length === 1) {
          batch[0]?.reject(error);
          continue;
        }
        // One bad event must not fail the others it happened to share a transaction with: each
        // goes alone, so only the bad one is retried by the bus and, in the end, dead-lettered.
        for (const one of batch) {
          try {
            await this.#commit([one]);
          } catch (alone) {
            one.reject(alone);
          }
        }
      }
    }
  }

  async #commit(batch: Waiting[]): Promise<void> {
    const { store, clock, onCommitted } = this.#options;
    const projected = await store.append(
      batch.map((waiting) => waiting.event),
      clock.now(),
    );
    onCommitted?.(projected, new Map(batch.map((waiting) => [waiting.event.id, waiting.group])), clock.now());
    for (const waiting of batch) waiting.resolve();
  }
}
