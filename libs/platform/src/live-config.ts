/**
 * A value that may change while the process runs (tariffs, rate limits, fault switches, log
 * level). Readers keep the handle and call `get()` at use time instead of copying the value.
 */
export class LiveConfig<T> {
  #value: T;
  readonly #listeners = new Set<(next: T, previous: T) => void>();

  constructor(initial: T) {
    this.#value = initial;
  }

  get(): T {
    return this.#value;
  }

  set(next: T): void {
    const previous = this.#value;
    this.#value = next;
    for (const listener of this.#listeners) listener(next, previous);
  }

  onChange(listener: (next: T, previous: T) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
