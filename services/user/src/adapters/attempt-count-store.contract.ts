import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AttemptCountStore } from '../ports.ts';

export interface AttemptCountStoreTarget {
  store: AttemptCountStore;
  close(): Promise<void>;
}

/**
 * What the login throttle relies on, for every AttemptCountStore: a write lands only on the
 * count it was decided on, so of two racing attempts that read the same count one is recorded
 * and the other must read again (that is what keeps concurrent guesses from all getting in).
 */
export function describeAttemptCountStoreContract(name: string, open: () => Promise<AttemptCountStoreTarget>): void {
  describe(`AttemptCountStore contract (${name})`, () => {
    let target: AttemptCountStoreTarget;
    const at = Date.parse('2026-03-01T08:00:00.123Z');
    before(async () => {
      target = await open();
    });
    after(() => target.close());

    it('creates a count only where there is none, and changes it only from the count it was read as', async () => {
      const { store } = target;
      assert.equal(await store.compareAndSet('k1', undefined, { failures: 1, lastFailureAt: at }), true);
      assert.equal(await store.compareAndSet('k1', undefined, { failures: 1, lastFailureAt: at }), false, 'a second create loses');
      assert.equal(await store.compareAndSet('k1', { failures: 2, lastFailureAt: at }, { failures: 3, lastFailureAt: at }), false, 'a stale count loses');
      assert.equal(await store.compareAndSet('k1', { failures: 1, lastFailureAt: at }, { failures: 2, lastFailureAt: at + 1 }), true);
      assert.deepEqual((await store.find(['k1', 'other'])).get('k1'), { failures: 2, lastFailureAt: at + 1 }, 'milliseconds survive the round trip');
      assert.equal(await store.compareAndSet('k1', { failures: 2, lastFailureAt: at }, undefined), false, 'the time is part of the version');
      assert.equal(await store.compareAndSet('k1', { failures: 2, lastFailureAt: at + 1 }, undefined), true);
      assert.equal((await store.find(['k1'])).size, 0);
    });

    it('lets exactly one of racing writers from one count win', async () => {
      const { store } = target;
      await store.compareAndSet('k2', undefined, { failures: 1, lastFailureAt: at });
      const results = await Promise.all(Array.from({ length: 8 }, () => store.compareAndSet('k2', { failures: 1, lastFailureAt: at }, { failures: 2, lastFailureAt: at })));
      assert.equal(results.filter(Boolean).length, 1);
    });
  });
}
