import assert from 'node:assert/strict';
import { it } from 'node:test';
import { AppError } from '@carshare/platform';
import { AttemptThrottle } from './attempt-throttle.ts';
import type { FailureCount } from './domain/attempt-backoff.ts';
import type { ThrottleCheck } from './domain/login-throttle.ts';
import type { AttemptCountStore } from './ports.ts';
import { MemoryAttemptCountStore } from './testing/memory-account-security-stores.ts';

const generous: ThrottleCheck = { key: 'signup:ip:203.0.113.7', rule: { freeFailures: 100, baseDelayMs: 1_000, maxDelayMs: 60_000, forgetAfterMs: 3_600_000 }, onSuccess: 'forgive' };

it('admits a burst of concurrent attempts on one key that the rule allows: lost races are retried, not refused', async () => {
  // Every admit reads, then writes with a compare-and-set: started together, all but one lose each round.
  const store = new MemoryAttemptCountStore();
  const throttle = new AttemptThrottle(store, () => 0);
  const results = await Promise.allSettled(Array.from({ length: 8 }, () => throttle.admit([generous], 'REGISTRATION_THROTTLED', 'too many')));
  assert.deepEqual(
    results.map((result) => result.status),
    Array.from({ length: 8 }, () => 'fulfilled'),
    results.map((result) => (result.status === 'rejected' ? String((result.reason as Error).message) : 'ok')).join(', '),
  );
  assert.equal(store.count(generous.key)?.failures, 8, 'each admitted attempt counted once');
});

it('endless contention is a retryable 503, never a 429 that blames the address, and gives its counts back', async () => {
  const memory = new MemoryAttemptCountStore();
  const other: ThrottleCheck = { ...generous, key: 'signup:global' };
  // The global key is always moved by someone else between read and write.
  const contended: AttemptCountStore = {
    find: (keys) => memory.find(keys),
    compareAndSet: async (key: string, expected: FailureCount | undefined, next: FailureCount | undefined) => (key === other.key ? false : memory.compareAndSet(key, expected, next)),
  };
  const throttle = new AttemptThrottle(contended, () => 0);
  await assert.rejects(throttle.admit([generous, other], 'REGISTRATION_THROTTLED', 'too many'), (error: unknown) => {
    assert.ok(error instanceof AppError);
    assert.equal(error.code, 'UNAVAILABLE');
    assert.equal(error.reason, 'ATTEMPT_COUNT_CONTENDED');
    return true;
  });
  assert.equal(memory.count(generous.key), undefined, 'the count taken for the address went back');
});
