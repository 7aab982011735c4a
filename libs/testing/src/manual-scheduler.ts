import type { Scheduler } from '@carshare/platform';
import type { FakeClock } from './fake-clock.ts';

interface Timer {
  due: number;
  callback: () => void;
}

/**
 * Timers on a fake clock: nothing fires until a test moves time with `advance`, which fires every
 * timer that has come due, in order. Deadlines and sweeps are then tested without waiting.
 */
export class ManualScheduler implements Scheduler {
  readonly #clock: FakeClock;
  readonly #timers = new Set<Timer>();

  constructor(clock: FakeClock) {
    this.#clock = clock;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const timer = { due: this.#clock.now() + ms, callback };
    this.#timers.add(timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as Timer);
  }

  get pending(): number {
    return this.#timers.size;
  }

  /** Moves the clock by `ms`, firing due timers (those they set included) along the way. */
  advance(ms: number): void {
    const until = this.#clock.now() + ms;
    for (;;) {
      const next = [...this.#timers].filter((timer) => timer.due <= until).sort((a, b) => a.due - b.due)[0];
      if (!next) break;
      this.#timers.delete(next);
      if (next.due > this.#clock.now()) this.#clock.set(next.due);
      next.callback();
    }
    this.#clock.set(until);
  }
}
