import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as resilience from './index.ts';

it('exposes the policy stack, the limiters and the fault switches from the package root', () => {
  for (const name of [
    'createDownstreamPolicy',
    'defaultDownstreamSettings',
    'createRateLimiter',
    'MemoryRateLimitStore',
    'RedisRateLimitStore',
    'FailOpenRateLimitStore',
    'FaultRegistry',
    'measurePolicyOverhead',
  ]) {
    assert.ok(name in resilience, name);
  }
});
