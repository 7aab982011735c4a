import type { PGlite } from '@electric-sql/pglite';
import { AsyncMutex, type ReleaseLock } from './async-mutex.ts';

export interface SharedPgliteOptions {
  /** Longest wait for the session before a query fails with Unavailable('DATABASE_BUSY'). */
  lockTimeoutMs: number;
}

/**
 * The one PGlite session of the process, shared by every service. Whoever holds the lock owns
 * the session; before handing it over the search_path is switched to the holder's schema, so
 * unqualified names in any statement resolve to that service and no other service's statement
 * can run in between.
 */
export class SharedPglite {
  readonly pglite: PGlite;
  readonly #mutex = new AsyncMutex();
  readonly #lockTimeoutMs: number;
  #searchPath: string | undefined;

  constructor(pglite: PGlite, options: SharedPgliteOptions) {
    this.pglite = pglite;
    this.#lockTimeoutMs = options.lockTimeoutMs;
  }

  /** Takes the session for `schema` until the returned function is called (a transaction). */
  async lease(schema: string): Promise<ReleaseLock> {
    const release = await this.#mutex.acquire(this.#lockTimeoutMs);
    try {
      await this.#useSchema(schema);
      return release;
    } catch (error) {
      release();
      throw error;
    }
  }

  /** Runs one piece of work (a single statement) as `schema`. */
  async exclusive<T>(schema: string, work: (pglite: PGlite) => Promise<T>): Promise<T> {
    const release = await this.lease(schema);
    try {
      return await work(this.pglite);
    } finally {
      release();
    }
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

  // Session-level SET outside any transaction: it survives until the next holder switches it,
  // and consecutive statements of one service (the common case) pay nothing.
  async #useSchema(schema: string): Promise<void> {
    if (this.#searchPath === schema) return;
    this.#searchPath = undefined;
    await this.pglite.query(`set search_path to "${schema}"`);
    this.#searchPath = schema;
  }
}
