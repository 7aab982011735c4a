import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decorrelatedJitterDelay } from './decorrelated-jitter.ts';

const settings = { baseDelayMs: 10, maxDelayMs: 100 };

describe('decorrelatedJitterDelay', () => {
  it('draws the first delay from [base, 3 × base]', () => {
    assert.equal(decorrelatedJitterDelay(0, settings, () => 0), 10);
    assert.equal(decorrelatedJitterDelay(0, settings, () => 0.5), 20);
    assert.equal(decorrelatedJitterDelay(0, settings, () => 0.999999), 29);
  });

  it('grows from the previous delay, up to three times it', () => {
    assert.equal(decorrelatedJitterDelay(20, settings, () => 0.999999), 59);
    assert.equal(decorrelatedJitterDelay(20, settings, () => 0), 10, 'can shrink back to base');
  });

  it('never exceeds the cap', () => {
    assert.equal(decorrelatedJitterDelay(90, settings, () => 0.999999), 100);
  });
});
