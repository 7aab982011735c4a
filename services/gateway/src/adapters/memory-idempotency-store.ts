import { randomUUID } from 'node:crypto';
import type { IdempotencyClaim, IdempotencyStore, StoredResponse } from '../ports.ts';

export interface MemoryIdempotencyStoreOptions {
  /** How long a claim holds its key before another request may take it over. */
  lockTtlMs: number;
  /** How long a finished answer is replayed. */
  retentionMs: number;
  /** At most this many keys; past it the least recently written one goes first. */
  maxEntries?: number;
  /** Expired keys are swept at most this often, on a write. */
  sweepIntervalMs?: number;
}

type Entry =
  | { state: 'in-flight'; fingerprint: string; token: string; expiresAt: number }
  | { state: 'completed'; fingerprint: string; response: StoredResponse; expiresAt: number };

/**
 * Keys of this process only: enough for one gateway (the embedded platform), not for several
 * behind a load balancer, where a retry may reach another instance (use Redis there). Claims
 * are atomic because nothing awaits between the read and the write.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #entries = new Map<string, Entry>();
  readonly #lockTtlMs: number;
  readonly #retentionMs: number;
  readonly #maxEntries: number;
  readonly #sweepIntervalMs: number;
  #nextSweep = 0;

  constructor(options: MemoryIdempotencyStoreOptions) {
    this.#lockTtlMs = options.lockTtlMs;
    this.#retentionMs = options.retentionMs;
    this.#maxEntries = options.maxEntries ?? 100_000;
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
  }

  get size(): number {
    return this.#entries.size;
  }

  async claim(key: string, fingerprint: string, now: number): Promise<IdempotencyClaim> {
    const entry = this.#entries.get(key);
    if (entry && entry.expiresAt > now) {
      return entry.state === 'completed'
        ? { outcome: 'completed', fingerprint: entry.fingerprint, response: entry.response }
        : { outcome: 'in-flight', fingerprint: entry.fingerprint };
    }
    const token = randomUUID();
    this.#write(key, { state: 'in-flight', fingerprint, token, expiresAt: now + this.#lockTtlMs }, now);
    return { outcome: 'claimed', token };
  }

  async complete(key: string, token: string, response: StoredResponse, now: number): Promise<boolean> {
    const entry = this.#entries.get(key);
    if (entry?.state !== 'in-flight' || entry.token !== token) return false;
    this.#write(key, { state: 'completed', fingerprint: entry.fingerprint, response, expiresAt: now + this.#retentionMs }, now);
    return true;
  }

  async release(key: string, token: string): Promise<boolean> {
    const entry = this.#entries.get(key);
    if (entry?.state !== 'in-flight' || entry.token !== token) return false;
    this.#entries.delete(key);
    return true;
  }

  async close(): Promise<void> {
    this.#entries.clear();
  }

  #write(key: string, entry: Entry, now: number): void {
    // Deleted first so the Map's order is the order of last writes: the oldest is evicted first.
    this.#entries.delete(key);
    if (now >= this.#nextSweep) {
      this.#nextSweep = now + this.#sweepIntervalMs;
      for (const [name, stored] of this.#entries) if (stored.expiresAt <= now) this.#entries.delete(name);
    }
    // Bounded memory beats a complete record: a dropped answer only means a late retry runs again.
    while (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
    this.#entries.set(key, entry);
  }
}
