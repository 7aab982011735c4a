/** Array-backed queue with O(1) shift: Array#shift is linear once a backlog builds up. */
export class FifoQueue<T> {
  #items: Array<T | undefined> = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  peek(): T | undefined {
    return this.#items[this.#head];
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head += 1;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Removes every item for which `predicate` holds; returns how many. */
  removeWhere(predicate: (item: T) => boolean): number {
    const kept = this.toArray().filter((item) => !predicate(item));
    const removed = this.length - kept.length;
    this.#items = kept;
    this.#head = 0;
    return removed;
  }

  toArray(): T[] {
    return this.#items.slice(this.#head) as T[];
  }
}
