import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CircuitState } from 'cockatiel';
import { CountWindowBreaker } from './count-window-breaker.ts';

const closed = CircuitState.Closed;

function feed(breaker: CountWindowBreaker, outcomes: string): boolean {
  let opened = false;
  for (const outcome of outcomes) {
    if (outcome === 's') breaker.success(closed);
    else opened = breaker.failure(closed);
  }
  return opened;
}

describe('CountWindowBreaker', () => {
  it('opens at exactly the failure rate once the minimum number of calls is in the window', () => {
    const breaker = new CountWindowBreaker({ windowSize: 10, minimumCalls: 10, failureRatePercent: 50 });
    assert.equal(feed(breaker, 'sssssffff'), false, '9 calls: below the minimum');
    assert.equal(feed(breaker, 'f'), true, '10 calls, 5 failures = 50 %');
  });

  it('stays closed one failure below the rate', () => {
    const breaker = new CountWindowBreaker({ windowSize: 10, minimumCalls: 10, failureRatePercent: 50 });
    assert.equal(feed(breaker, 'ssssssffff'), false, '4 of 10 = 40 %');
  });

  it('does not open before the minimum number of calls even at 100 % failures', () => {
    const breaker = new CountWindowBreaker({ windowSize: 20, minimumCalls: 5, failureRatePercent: 50 });
    assert.equal(feed(breaker, 'ffff'), false);
    assert.equal(feed(breaker, 'f'), true);
  });

  it('compares rates in integers, so 3 of 10 opens a 30 % breaker', () => {
    const breaker = new CountWindowBreaker({ windowSize: 10, minimumCalls: 10, failureRatePercent: 30 });
    assert.equal(feed(breaker, 'sssssssff'), false);
    assert.equal(feed(breaker, 'f'), true);
  });

  it('forgets calls that slid out of the window', () => {
    const breaker = new CountWindowBreaker({ windowSize: 4, minimumCalls: 4, failureRatePercent: 50 });
    assert.equal(feed(breaker, 'fssss'), false, 'the first failure is evicted: window s,s,s,s');
    assert.equal(feed(breaker, 'f'), false, '1 of 4');
    // counted over all 7 calls this would be 3 of 7 = 43 % and stay closed
    assert.equal(feed(breaker, 'f'), true, '2 of the last 4');
  });

  it('starts from an empty window after a successful probe', () => {
    const breaker = new CountWindowBreaker({ windowSize: 4, minimumCalls: 2, failureRatePercent: 50 });
    assert.equal(feed(breaker, 'ff'), true);
    breaker.success(CircuitState.HalfOpen);
    assert.equal(breaker.failure(closed), true, 'window is [s, f]: 1 of 2 = 50 %');
    breaker.success(CircuitState.HalfOpen);
    breaker.success(closed);
    assert.equal(breaker.failure(closed), false, 'window is [s, s, f]: 33 %');
  });

  it('always reopens on a failed probe', () => {
    const breaker = new CountWindowBreaker({ windowSize: 10, minimumCalls: 10, failureRatePercent: 50 });
    assert.equal(breaker.failure(CircuitState.HalfOpen), true);
  });

  it('round-trips its state', () => {
    const breaker = new CountWindowBreaker({ windowSize: 4, minimumCalls: 4, failureRatePercent: 50 });
    feed(breaker, 'sfs');
    const copy = new CountWindowBreaker({ windowSize: 4, minimumCalls: 4, failureRatePercent: 50 });
    copy.state = breaker.state;
    assert.equal(copy.failure(closed), true, 'copy sees s,f,s + f = 2 of 4');
  });
});
