import type { Clock } from '@carshare/platform';

/** A clock tests move by hand; nothing in a test waits on real time. */
export class FakeClock implements Clock {
  #now: number;

  constructor(start: number | string = '2026-01-01T00:00:00.000Z') {
    this.#now = typeof start === 'number' ? start : Date.parse(start);
  }

  now(): number {
    return this.#now;
  }

  advance(ms: number): void {
    if (ms < 0) throw new RangeError('a clock does not go back');
    this.#now += ms;
  }

  set(epochMs: number): void {
    this.#now = epochMs;
  }
}
