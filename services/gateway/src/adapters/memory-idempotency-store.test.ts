import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contractLockTtlMs, contractRetentionMs, idempotencyStoreContract } from './idempotency-store.contract.ts';
import { MemoryIdempotencyStore } from './memory-idempotency-store.ts';

idempotencyStoreContract('MemoryIdempotencyStore', () => new MemoryIdempotencyStore({ lockTtlMs: contractLockTtlMs, retentionMs: contractRetentionMs }));

describe('MemoryIdempotencyStore: bounded memory', () => {
  const response = { status: 200, contentType: 'application/json', body: '{}' };

  it('sweeps expired keys at the sweep interval', async () => {
    const store = new MemoryIdempotencyStore({ lockTtlMs: 1_000, retentionMs: 5_000, sweepIntervalMs: 10_000 });
    for (let i = 0; i < 20; i++) await store.claim(`lock-${i}`, 'fp', 0);
    assert.equal(store.size, 20);
    await store.claim('trigger', 'fp', 9_999);
    assert.equal(store.size, 21, 'no sweep before the interval');
    await store.claim('trigger-2', 'fp', 10_000);
    assert.equal(store.size, 2, 'expired locks are gone; the live ones stay');
  });

  it('never holds more than maxEntries, dropping the least recently written', async () => {
    const store = new MemoryIdempotencyStore({ lockTtlMs: 1_000, retentionMs: 60_000, maxEntries: 3 });
    const a = await store.claim('a', 'fp', 0);
    await store.claim('b', 'fp', 0);
    await store.claim('c', 'fp', 0);
    assert.equal(a.outcome, 'claimed');
    await store.complete('a', a.token, response, 1); // written last now
    await store.claim('d', 'fp', 2);
    assert.equal(store.size, 3);
    assert.equal((await store.claim('b', 'fp', 3)).outcome, 'claimed', 'b was dropped');
    assert.equal((await store.claim('a', 'fp', 3)).outcome, 'completed', 'a was kept');
  });
});
