import { Unavailable } from '@carshare/platform';

export type ReleaseLock = () => void;

interface Waiter {
  grant: (release: ReleaseLock) => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * FIFO lock for a resource that can serve one caller at a time (the single PGlite session).
 * A bounded wait turns a would-be hang (a transaction awaiting work that itself needs the
 * database) into an error that rolls the transaction back.
 */
export class AsyncMutex {
  #locked = false;
  readonly #waiters: Waiter[] = [];

  acquire(timeoutMs?: number): Promise<ReleaseLock> {
    if (!this.#locked) {
      this.#locked = true;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { grant: resolve, timer: undefined };
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          const index = this.#waiters.indexOf(waiter);
          if (index >= 0) this.#waiters.splice(index, 1);
          reject(
            Unavailable(
              'DATABASE_BUSY',
              `waited ${timeoutMs} ms for the embedded database; a transaction may be awaiting work that needs the database itself`,
            ),
          );
        }, timeoutMs);
      }
      this.#waiters.push(waiter);
    });
  }

  async runExclusive<T>(work: () => Promise<T>, timeoutMs?: number): Promise<T> {
    const release = await this.acquire(timeoutMs);
    try {
      return await work();
    } finally {
      release();
    }
  }

  #releaser(): ReleaseLock {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next === undefined) {
        this.#locked = false;
        return;
      }
      clearTimeout(next.timer);
      next.grant(this.#releaser());
    };
  }
}
