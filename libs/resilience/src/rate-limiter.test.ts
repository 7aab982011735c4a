import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '@carshare/platform';
import { FakeClock } from '@carshare/testing';
import { MemoryRateLimitStore } from './memory-rate-limit-store.ts';
import { createRateLimiter } from './rate-limiter.ts';
import type { RateLimitRule, RateLimitStore } from './rate-limit-store.ts';

describe('createRateLimiter', () => {
  it('hands the store the injected clock time and a cost of 1 by default', async () => {
    const seen: Array<[string, number, number]> = [];
    const store: RateLimitStore = {
      consume(key, rule, cost, nowMs) {
        seen.push([key, cost, nowMs]);
        return new MemoryRateLimitStore().consume(key, rule, cost, nowMs);
      },
    };
    const clock = new FakeClock(5_000);
    const limiter = createRateLimiter({ store, clock });
    await limiter.consume('a', { algorithm: 'gcra', limit: 5, windowMs: 1_000 });
    clock.advance(7);
    await limiter.consume('a', { algorithm: 'gcra', limit: 5, windowMs: 1_000 }, 3);
    assert.deepEqual(seen, [
      ['a', 1, 5_000],
      ['a', 3, 5_007],
    ]);
  });

  const invalid: Array<[string, RateLimitRule, number]> = [
    ['zero limit', { algorithm: 'gcra', limit: 0, windowMs: 1_000 }, 1],
    ['fractional limit', { algorithm: 'sliding-window', limit: 1.5, windowMs: 1_000 }, 1],
    ['zero window', { algorithm: 'gcra', limit: 1, windowMs: 0 }, 1],
    ['burst on a sliding window', { algorithm: 'sliding-window', limit: 5, windowMs: 1_000, burst: 2 }, 1],
    ['zero burst', { algorithm: 'gcra', limit: 5, windowMs: 1_000, burst: 0 }, 1],
    ['zero cost', { algorithm: 'gcra', limit: 5, windowMs: 1_000 }, 0],
    ['cost above the burst', { algorithm: 'gcra', limit: 5, windowMs: 1_000, burst: 2 }, 3],
    ['cost above the limit', { algorithm: 'sliding-window', limit: 5, windowMs: 1_000 }, 6],
    ['unknown algorithm', { algorithm: 'leaky' as 'gcra', limit: 5, windowMs: 1_000 }, 1],
  ];
  for (const [what, rule, cost] of invalid) {
    it(`rejects ${what} with INVALID_ARGUMENT`, async () => {
      const limiter = createRateLimiter({ store: new MemoryRateLimitStore() });
      await assert.rejects(limiter.consume('k', rule, cost), (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, 'INVALID_ARGUMENT');
        assert.equal(error.reason, 'INVALID_RATE_LIMIT');
        return true;
      });
    });
  }

  it('accepts a cost equal to the capacity', async () => {
    const limiter = createRateLimiter({ store: new MemoryRateLimitStore(), clock: new FakeClock() });
    assert.equal((await limiter.consume('k', { algorithm: 'gcra', limit: 5, windowMs: 1_000, burst: 2 }, 2)).allowed, true);
    assert.equal((await limiter.consume('k', { algorithm: 'sliding-window', limit: 5, windowMs: 1_000 }, 5)).allowed, true);
  });
});
