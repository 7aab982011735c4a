import type { Logger } from '@carshare/observability';

export interface Closeable {
  name: string;
  close(): Promise<void>;
}

/**
 * Closes what was opened in reverse order (servers first, so in-flight requests drain before
 * the stores they use go away), once, within a bound.
 */
export class Lifecycle {
  readonly #closeables: Closeable[] = [];
  #closing: Promise<void> | undefined;

  readonly logger: Logger;
  readonly timeoutMs: number;

  constructor(logger: Logger, timeoutMs = 15_000) {
    this.logger = logger;
    this.timeoutMs = timeoutMs;
  }

  add(closeable: Closeable): void {
    this.#closeables.push(closeable);
  }

  close(): Promise<void> {
    this.#closing ??= this.#closeAll();
    return this.#closing;
  }

  async #closeAll(): Promise<void> {
    const deadline = setTimeout(() => {
      this.logger.error({ timeoutMs: this.timeoutMs }, 'shutdown took too long; exiting');
      process.exit(1);
    }, this.timeoutMs);
    deadline.unref();
    for (const closeable of [...this.#closeables].reverse()) {
      try {
        await closeable.close();
      } catch (error) {
        this.logger.error({ err: error, closeable: closeable.name }, 'close failed');
      }
    }
    clearTimeout(deadline);
  }

  /** SIGTERM/SIGINT → drain and close → exit. */
  closeOnSignals(): void {
    const onSignal = (signal: NodeJS.Signals) => {
      this.logger.info({ signal }, 'shutting down: draining in-flight requests');
      void this.close().then(() => process.exit(0));
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
}
