import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryRateLimitStore } from './memory-rate-limit-store.ts';
import { rateLimitStoreContract } from './rate-limit-store.contract.ts';
import type { RateLimitRule } from './rate-limit-store.ts';

rateLimitStoreContract('MemoryRateLimitStore', () => new MemoryRateLimitStore(), { propertyRuns: 300 });

describe('MemoryRateLimitStore: bounded memory', () => {
  const gcra: RateLimitRule = { algorithm: 'gcra', limit: 10, windowMs: 1_000 };
  const window: RateLimitRule = { algorithm: 'sliding-window', limit: 10, windowMs: 1_000 };

  it('sweeps keys whose state has decayed, at the sweep interval', async () => {
    const store = new MemoryRateLimitStore({ sweepIntervalMs: 5_000 });
    for (let i = 0; i < 50; i++) await store.consume(`gcra-${i}`, gcra, 1, 0);
    for (let i = 0; i < 50; i++) await store.consume(`window-${i}`, window, 1, 0);
    assert.equal(store.size, 100);
    await store.consume('trigger', gcra, 1, 4_999);
    assert.equal(store.size, 101, 'no sweep before the interval');
    await store.consume('trigger', gcra, 1, 5_000);
    assert.equal(store.size, 1, 'idle keys are gone; the active one stays');
  });

  it('keeps a key until its state has fully decayed', async () => {
    const store = new MemoryRateLimitStore({ sweepIntervalMs: 1 });
    await store.consume('g', gcra, 10, 0); // TAT = 1000 ms
    await store.consume('w', window, 1, 0); // counted until 2000 ms
    await store.consume('other', gcra, 1, 999);
    assert.equal(store.size, 3);
    await store.consume('other', gcra, 1, 1_000);
    assert.equal(store.size, 2, 'gcra key dropped at its TAT');
    await store.consume('other', gcra, 1, 2_000);
    assert.equal(store.size, 1, 'window key dropped after two windows');
  });

  it('never holds more than maxKeys, dropping the least recently written', async () => {
    const store = new MemoryRateLimitStore({ maxKeys: 3 });
    for (const key of ['a', 'b', 'c']) await store.consume(key, gcra, 10, 0);
    await store.consume('a', gcra, 1, 500); // a refilled 5, spends 1: most recent now
    await store.consume('d', gcra, 10, 500);
    assert.equal(store.size, 3);
    assert.equal((await store.consume('b', gcra, 10, 500)).allowed, true, 'b was dropped: it starts full');
    assert.equal((await store.consume('a', gcra, 5, 500)).allowed, false, 'a was kept');
  });

  it('writes nothing for a denied request', async () => {
    const store = new MemoryRateLimitStore({ maxKeys: 1 });
    await store.consume('a', gcra, 10, 0);
    const denied = await store.consume('a', gcra, 1, 0);
    assert.equal(denied.allowed, false);
    assert.equal(store.size, 1);
  });
});
