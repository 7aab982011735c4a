import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createObservability } from '@carshare/observability';
import type { Scheduler } from '@carshare/platform';
import { PendingBlobSweeper } from './pending-blob-sweeper.ts';

/** Timers a test fires by hand. */
class ManualScheduler implements Scheduler {
  readonly pending = new Map<number, { callback: () => void; ms: number }>();
  #next = 0;

  setTimeout(callback: () => void, ms: number): unknown {
    this.#next += 1;
    this.pending.set(this.#next, { callback, ms });
    return this.#next;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Fires every timer set so far, once. */
  fire(): void {
    const due = [...this.pending.entries()];
    this.pending.clear();
    for (const [, timer] of due) timer.callback();
  }
}

const logger = createObservability({ service: 'blob', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false }).logger;
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('PendingBlobSweeper', () => {
  it('sweeps every interval, keeps going after a failed pass, and stops', async () => {
    const scheduler = new ManualScheduler();
    let passes = 0;
    const sweeper = new PendingBlobSweeper({
      scheduler,
      intervalMs: 300_000,
      logger,
      sweep: async () => {
        passes += 1;
        if (passes === 2) throw new Error('database away');
        return 1;
      },
    });
    sweeper.start();
    assert.deepEqual([...scheduler.pending.values()].map((timer) => timer.ms), [300_000]);
    assert.equal(passes, 0, 'nothing runs before the first interval');
    for (let round = 1; round <= 3; round += 1) {
      scheduler.fire();
      await settle();
      assert.equal(passes, round);
      assert.equal(scheduler.pending.size, 1, 'the next pass is scheduled, after a failure too');
    }
    await sweeper.stop();
    assert.equal(scheduler.pending.size, 0);
  });
});
