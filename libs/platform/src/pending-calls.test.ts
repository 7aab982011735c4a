import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PendingCalls } from './pending-calls.ts';

interface Call {
  id: number;
  name: string;
}

const call = (id: number): Call => ({ id, name: `call ${id}` });

describe('PendingCalls', () => {
  it('finds a call by its id until it is taken, and only once', () => {
    const pending = new PendingCalls<Call>();
    const first = call(1);
    pending.add(first);
    pending.add(call(2));
    assert.equal(pending.size, 2);
    assert.equal(pending.get(1), first);
    assert.equal(pending.take(1), first);
    assert.equal(pending.take(1), undefined, 'a second answer with the same id finds nobody');
    assert.equal(pending.get(1), undefined);
    assert.equal(pending.size, 1);
  });

  it('never hands a late answer to the call that took its place', () => {
    const pending = new PendingCalls<Call>();
    // 1 and 65 share a place in a 64-wide table: 1 is gone when 65 arrives.
    pending.add(call(1));
    pending.take(1);
    const later = call(65);
    pending.add(later);
    assert.equal(pending.take(1), undefined, 'the answer to call 1 arrives after call 65 took its place');
    assert.equal(pending.get(65), later);
  });

  it('keeps a call that waits while thousands of later calls come and go', () => {
    const pending = new PendingCalls<Call>();
    const slow = call(7);
    pending.add(slow);
    for (let id = 8; id < 10_000; id++) {
      pending.add(call(id));
      // Every later call but a few is answered at once; some wait too.
      if (id % 1_000 !== 0) assert.equal(pending.take(id)?.id, id);
    }
    assert.equal(pending.get(7), slow);
    assert.equal(pending.size, 1 + 9);
    assert.deepEqual(
      pending
        .values()
        .map((waiting) => waiting.id)
        .sort((a, b) => a - b),
      [7, 1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 9_000],
    );
  });

  it('places ids across the 32-bit wrap', () => {
    const pending = new PendingCalls<Call>();
    const ids = [0xffff_fffe, 0xffff_ffff, 1, 2];
    for (const id of ids) pending.add(call(id));
    for (const id of ids) assert.equal(pending.get(id)?.id, id);
    assert.equal(pending.size, 4);
  });

  it('values() is a copy: every call can be taken while walking it, and clear() empties the table', () => {
    const pending = new PendingCalls<Call>();
    for (let id = 1; id <= 100; id++) pending.add(call(id));
    for (const waiting of pending.values()) assert.equal(pending.take(waiting.id), waiting);
    assert.equal(pending.size, 0);
    for (let id = 101; id <= 110; id++) pending.add(call(id));
    pending.clear();
    assert.equal(pending.size, 0);
    assert.equal(pending.get(105), undefined);
    assert.deepEqual(pending.values(), []);
  });
});
