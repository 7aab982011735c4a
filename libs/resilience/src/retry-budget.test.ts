import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '@carshare/testing';
import { RetryBudget } from './retry-budget.ts';

function budgetOf(settings: Partial<ConstructorParameters<typeof RetryBudget>[0]>, clock = new FakeClock()) {
  return new RetryBudget({ budgetPercent: 20, budgetMinRetriesPerSecond: 0, budgetWindowMs: 10_000, ...settings }, clock);
}

function calls(budget: RetryBudget, count: number): void {
  for (let i = 0; i < count; i++) budget.recordCall();
}

function retriesGranted(budget: RetryBudget, tries: number): number {
  let granted = 0;
  for (let i = 0; i < tries; i++) if (budget.tryAcquireRetry()) granted++;
  return granted;
}

describe('RetryBudget', () => {
  it('grants retries up to exactly 20 % of the calls in the window', () => {
    const budget = budgetOf({});
    calls(budget, 100);
    assert.equal(retriesGranted(budget, 20), 20, 'the 20th retry is within 20 %');
    assert.equal(budget.tryAcquireRetry(), false, 'the 21st would be 21 %');
  });

  it('rounds down: 99 calls allow 19 retries, not 20', () => {
    const budget = budgetOf({});
    calls(budget, 99);
    assert.equal(retriesGranted(budget, 25), 19);
  });

  it('adds the minimum per second of the window on top of the ratio', () => {
    const budget = budgetOf({ budgetMinRetriesPerSecond: 1, budgetWindowMs: 3_000 });
    assert.equal(retriesGranted(budget, 5), 3, 'no calls yet: only the 3 s × 1/s reserve');
    calls(budget, 10);
    assert.equal(retriesGranted(budget, 5), 2, '20 % of 10 = 2 more');
  });

  it('a refused retry takes nothing from the budget', () => {
    const budget = budgetOf({});
    calls(budget, 5);
    assert.equal(retriesGranted(budget, 3), 1);
    calls(budget, 5);
    assert.equal(budget.tryAcquireRetry(), true, '10 calls allow a second retry');
  });

  it('forgets calls and retries older than the window', () => {
    const clock = new FakeClock(0);
    const budget = budgetOf({ budgetWindowMs: 10_000 }, clock);
    calls(budget, 10);
    assert.equal(retriesGranted(budget, 5), 2);
    clock.advance(9_999);
    assert.deepEqual(budget.snapshot(), { calls: 10, retries: 2 }, 'still inside the 10 s window');
    assert.equal(budget.tryAcquireRetry(), false);
    clock.advance(1);
    assert.deepEqual(budget.snapshot(), { calls: 0, retries: 0 }, 'the first second slid out');
  });

  it('slides by one-second buckets', () => {
    const clock = new FakeClock(0);
    const budget = budgetOf({ budgetWindowMs: 3_000 }, clock);
    calls(budget, 5); // bucket 0
    clock.advance(1_000);
    calls(budget, 5); // bucket 1
    clock.advance(2_000); // bucket 3: bucket 0 expired, bucket 1 kept
    assert.deepEqual(budget.snapshot(), { calls: 5, retries: 0 });
    clock.advance(60_000);
    assert.deepEqual(budget.snapshot(), { calls: 0, retries: 0 });
  });

  it('keeps counting when the wall clock steps back', () => {
    const clock = new FakeClock(10_000);
    const budget = budgetOf({}, clock);
    calls(budget, 5);
    clock.set(5_000);
    calls(budget, 5);
    assert.deepEqual(budget.snapshot(), { calls: 10, retries: 0 });
  });
});
