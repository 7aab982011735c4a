import type { Logger } from '@carshare/observability';
import type { Scheduler } from '@carshare/platform';

export interface PendingBlobSweeperOptions {
  /** One pass: removes pending blobs past their TTL, returns how many went. */
  sweep(): Promise<number>;
  scheduler: Scheduler;
  intervalMs: number;
  logger: Logger;
}

/**
 * Runs the sweep every `intervalMs`, one pass at a time. A failed pass is logged and the next
 * one tries again: what it left is still pending and still past its TTL.
 */
export class PendingBlobSweeper {
  readonly #options: PendingBlobSweeperOptions;
  #timer: unknown;
  #running: Promise<void> | undefined;
  #stopped = true;

  constructor(options: PendingBlobSweeperOptions) {
    this.#options = options;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule();
  }

  /** Stops scheduling and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#options.scheduler.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = this.#options.scheduler.setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#pass().finally(() => {
        this.#running = undefined;
        this.#schedule();
      });
    }, this.#options.intervalMs);
  }

  async #pass(): Promise<void> {
    try {
      const swept = await this.#options.sweep();
      if (swept > 0) this.#options.logger.info({ swept }, 'swept pending blobs past their TTL');
    } catch (error) {
      this.#options.logger.error({ err: error }, 'sweeping pending blobs failed; the next pass tries again');
    }
  }
}
