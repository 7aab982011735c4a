/**
 * Riders recently seen holding nothing and driving nothing, so /v1/me (GetMyActivity, on every
 * page load of the apps) answers them without two statements on the database. Only "nothing" is
 * remembered: every way out of it (a reservation made, a trip started) goes through this
 * instance's use cases, which `forget` the rider first; another instance's write is seen within
 * `ttlMs`. Bounded: the oldest entries go first.
 */
export class IdleRiders {
  readonly #until = new Map<string, number>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  #forgets = 0;

  constructor(options: { ttlMs: number; maxEntries: number; now: () => number }) {
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries;
    this.#now = options.now;
  }

  isIdle(riderId: string): boolean {
    const until = this.#until.get(riderId);
    if (until === undefined) return false;
    if (this.#now() < until) return true;
    this.#until.delete(riderId);
    return false;
  }

  /** Taken before the read: a `forget` of anyone while it ran makes its "nothing" not worth keeping. */
  ticket(): number {
    return this.#forgets;
  }

  /** Seen with nothing by a read that began at `ticket`. */
  remember(riderId: string, ticket: number): void {
    if (ticket !== this.#forgets) return;
    this.#until.delete(riderId);
    this.#until.set(riderId, this.#now() + this.#ttlMs);
    if (this.#until.size > this.#maxEntries) {
      const oldest = this.#until.keys().next().value;
      if (oldest !== undefined) this.#until.delete(oldest);
    }
  }

  forget(riderId: string): void {
    this.#forgets += 1;
    this.#until.delete(riderId);
  }
}
