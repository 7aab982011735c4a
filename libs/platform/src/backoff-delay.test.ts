import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, backoffPolicy } from './backoff-delay.ts';

const policy = backoffPolicy({ initialMs: 100, maxMs: 1_000, factor: 2, jitter: 0.5 });

describe('backoffDelay', () => {
  it('grows by the factor from the initial delay, attempt by attempt', () => {
    assert.deepEqual([1, 2, 3, 4].map((attempt) => backoffDelay(attempt, policy, () => 0)), [100, 200, 400, 800]);
  });

  it('never exceeds the cap, however many attempts failed', () => {
    assert.equal(backoffDelay(5, policy, () => 0), 1_000);
    assert.equal(backoffDelay(500, policy, () => 0), 1_000);
  });

  it('takes up to the jitter share off each delay, never more', () => {
    assert.equal(backoffDelay(2, policy, () => 0.5), 150);
    assert.equal(backoffDelay(2, policy, () => 0.999999), 100);
    assert.equal(backoffDelay(3, { ...policy, jitter: 0 }, () => 0.9), 400, 'no jitter: exact');
  });

  it('spreads callers that failed together', () => {
    const draws = [0.1, 0.4, 0.7, 0.95].map((r) => backoffDelay(3, policy, () => r));
    assert.equal(new Set(draws).size, draws.length);
    for (const delay of draws) assert.ok(delay >= 200 && delay <= 400, String(delay));
  });

  it('refuses a policy that would not back off', () => {
    for (const bad of [
      { initialMs: -1, maxMs: 10, factor: 2, jitter: 0 },
      { initialMs: 10, maxMs: 5, factor: 2, jitter: 0 },
      { initialMs: 10, maxMs: 50, factor: 0.5, jitter: 0 },
      { initialMs: 10, maxMs: 50, factor: 2, jitter: 1.5 },
      { initialMs: Number.NaN, maxMs: 50, factor: 2, jitter: 0 },
    ]) {
      assert.throws(() => backoffPolicy(bad), RangeError, JSON.stringify(bad));
    }
  });
});
