import type { Clock } from '@carshare/platform';
import type { User } from '../domain/user.ts';
import type { UserLookup } from '../ports.ts';

export interface UserReadCacheOptions {
  /** How long another instance's write may go unseen here; 0 turns the cache off. */
  ttlMs: number;
  maxEntries: number;
  /** Told of every lookup, for the hit-rate metric. */
  onLookup?: (result: 'hit' | 'miss') => void;
}

interface CachedUser {
  user: User;
  expiresAt: number;
}

interface PendingLoad {
  generation: number;
  load: Promise<User | undefined>;
}

/**
 * GetUser answers every `/v1/me` and, later, every status check other services make; on PGlite
 * one primary-key read costs ~0.3–0.6 ms of the event loop all modules share (ADR 0008).
 * Entries live `ttlMs`: this instance forgets a user as soon as its own write commits, other
 * instances' writes show within `ttlMs`. Decisions (login, refresh, suspend) never read here.
 *
 * A load that started before a write finished must not put the old row back: every `forget`
 * bumps a generation, and a load only fills the cache if no write happened while it ran.
 */
export class UserReadCache implements UserLookup {
  readonly #source: UserLookup;
  readonly #clock: Clock;
  readonly #options: UserReadCacheOptions;
  readonly #entries = new Map<string, CachedUser>();
  /** Concurrent misses for one user share one read. */
  readonly #pending = new Map<string, PendingLoad>();
  #generation = 0;

  constructor(source: UserLookup, clock: Clock, options: UserReadCacheOptions) {
    this.#source = source;
    this.#clock = clock;
    this.#options = options;
  }

  get size(): number {
    return this.#entries.size;
  }

  async findById(id: string): Promise<User | undefined> {
    if (this.#options.ttlMs <= 0) return this.#source.findById(id);
    const cached = this.#entries.get(id);
    if (cached) {
      if (cached.expiresAt > this.#clock.now()) {
        this.#options.onLookup?.('hit');
        return cached.user;
      }
      this.#entries.delete(id);
    }
    this.#options.onLookup?.('miss');
    const pending = this.#pending.get(id);
    if (pending && pending.generation === this.#generation) return pending.load;
    return this.#load(id);
  }

  /** Called once a write to these users has committed (or failed: forgetting is always safe). */
  forget(ids: Iterable<string>): void {
    this.#generation++;
    for (const id of ids) this.#entries.delete(id);
  }

  async #load(id: string): Promise<User | undefined> {
    const generation = this.#generation;
    const load = this.#source.findById(id);
    const entry: PendingLoad = { generation, load };
    this.#pending.set(id, entry);
    try {
      const user = await load;
      if (user && generation === this.#generation) this.#remember(id, Object.freeze(user));
      return user;
    } finally {
      if (this.#pending.get(id) === entry) this.#pending.delete(id);
    }
  }

  #remember(id: string, user: User): void {
    this.#entries.delete(id);
    if (this.#entries.size >= this.#options.maxEntries) {
      // Map order is insertion order and a refill re-inserts, so the first key is the least
      // recently loaded: a cheap approximation of LRU that needs no bookkeeping on hits.
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(id, { user, expiresAt: this.#clock.now() + this.#options.ttlMs });
  }
}
