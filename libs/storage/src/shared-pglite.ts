import { AsyncMutex, type ReleaseLock } from './async-mutex.ts';
import type { PgliteSession } from './pglite-thread.ts';

export interface SharedPgliteOptions {
  /** Longest wait for the session before a query fails with Unavailable('DATABASE_BUSY'). */
  lockTimeoutMs: number;
}

/**
 * The one PGlite session of the process, shared by every service. Whoever holds the lock owns
 * the session. Most statements name their relations schema-qualified (see schema-free-statement.ts)
 * and run whatever the session's search_path is; one that does not (raw SQL with unqualified
 * names, a migration) gets the session's search_path switched to its service's schema first, so
 * its unqualified names resolve there and no other service's statement can run in between.
 */
export class SharedPglite {
  readonly pglite: PgliteSession;
  readonly #mutex = new AsyncMutex();
  readonly #lockTimeoutMs: number;
  #searchPath: string | undefined;

  constructor(pglite: PgliteSession, options: SharedPgliteOptions) {
    this.pglite = pglite;
    this.#lockTimeoutMs = options.lockTimeoutMs;
  }

  /**
   * Takes the session until the returned function is called (a transaction); with `schema`, its
   * search_path is that schema's first.
   */
  async lease(schema?: string): Promise<ReleaseLock> {
    const release = await this.#mutex.acquire(this.#lockTimeoutMs);
    if (schema === undefined) return release;
    try {
      await this.useSchema(schema);
      return release;
    } catch (error) {
      release();
      throw error;
    }
  }

  /** Runs one piece of work (a single statement); `schema` as in lease(). */
  async exclusive<T>(schema: string | undefined, work: (pglite: PgliteSession) => Promise<T>): Promise<T> {
    const release = await this.lease(schema);
    try {
      return await work(this.pglite);
    } finally {
      release();
    }
  }

  /**
   * Sends one statement that is a transaction of its own and names its schema. On a session that
   * keeps order (the thread) the session is held only to send it: the next caller's statement
   * goes right behind it instead of one answer and one turn of the event loop later, and the
   * thread works through them without waiting on this loop. Elsewhere it is exclusive().
   */
  async send<T>(work: (pglite: PgliteSession) => Promise<T>): Promise<T> {
    if (!this.pglite.ordered) return await this.exclusive(undefined, work);
    const release = await this.lease();
    let answer: Promise<T>;
    try {
      answer = work(this.pglite);
    } finally {
      release();
    }
    return await answer;
  }

  /** Lets in-flight work finish (bounded by the lock timeout), then closes the instance. */
  async close(): Promise<void> {
    const release = await this.#mutex.acquire(this.#lockTimeoutMs).catch(() => undefined);
    try {
      if (!this.pglite.closed) await this.pglite.close();
    } finally {
      release?.();
    }
  }

  /**
   * For the lease holder only. Session-level SET: it survives until the next switch, and
   * consecutive statements of one service pay nothing. Inside a transaction a ROLLBACK (or to a
   * savepoint) undoes it, so the holder calls forgetSearchPath() after one.
   */
  async useSchema(schema: string): Promise<void> {
    if (this.#searchPath === schema) return;
    this.#searchPath = undefined;
    await this.pglite.exec(`set search_path to "${schema}"`);
    this.#searchPath = schema;
  }

  forgetSearchPath(): void {
    this.#searchPath = undefined;
  }
}
