import type { Clock, Scheduler } from '@carshare/platform';
import type { SimulationTime } from '../simulation-time.ts';

interface Pending {
  at: number;
  order: number;
  callback: () => void;
}

/**
 * Time that moves only when a test says so: `advance(ms)` runs every timer that falls due on
 * the way, in time order (timers set by those callbacks included), then stops at the target.
 */
export class ManualTime implements SimulationTime, Clock, Scheduler {
  readonly clock: Clock = this;
  readonly scheduler: Scheduler = this;
  #now: number;
  #order = 0;
  readonly #pending = new Map<number, Pending>();

  constructor(start = Date.parse('2026-01-01T00:00:00.000Z')) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const handle = ++this.#order;
    this.#pending.set(handle, { at: this.#now + Math.max(0, ms), order: handle, callback });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as number);
  }

  get pendingTimers(): number {
    return this.#pending.size;
  }

  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let next: [number, Pending] | undefined;
      for (const entry of this.#pending) {
        if (entry[1].at <= target && (!next || entry[1].at < next[1].at || (entry[1].at === next[1].at && entry[1].order < next[1].order))) next = entry;
      }
      if (!next) break;
      this.#pending.delete(next[0]);
      this.#now = next[1].at;
      next[1].callback();
    }
    this.#now = target;
  }
}
