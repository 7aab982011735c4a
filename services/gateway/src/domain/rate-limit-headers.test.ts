import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rateLimitHeaders, tightestLimit, type AppliedLimit } from './rate-limit-headers.ts';

const minute = 60_000;
const perIp: AppliedLimit = { policy: 'login-ip', rule: { algorithm: 'sliding-window', limit: 20, windowMs: minute }, allowed: true, remaining: 2, resetMs: 30_000, retryAfterMs: 0 };
const perAccount: AppliedLimit = { policy: 'login-account', rule: { algorithm: 'sliding-window', limit: 5, windowMs: 5 * minute }, allowed: true, remaining: 4, resetMs: 300_000, retryAfterMs: 0 };
const gcra: AppliedLimit = { policy: 'plan-free', rule: { algorithm: 'gcra', limit: 300, windowMs: minute, burst: 60 }, allowed: true, remaining: 59, resetMs: 200, retryAfterMs: 0 };

describe('rate-limit headers (draft-ietf-httpapi-ratelimit-headers)', () => {
  it('reports the tightest limit, whichever order the limits were checked in', () => {
    assert.equal(tightestLimit([perIp, perAccount])?.policy, 'login-ip');
    assert.equal(tightestLimit([perAccount, perIp])?.policy, 'login-ip');
    const headers = rateLimitHeaders([perIp, perAccount]);
    assert.equal(headers.ratelimit, '"login-ip";r=2;t=30');
    assert.equal(headers['ratelimit-remaining'], '2');
    assert.equal(headers['ratelimit-limit'], '20');
    assert.equal(headers['ratelimit-reset'], '30');
  });

  it('lists every policy that applied, quota per window in seconds', () => {
    assert.equal(rateLimitHeaders([perIp, perAccount])['ratelimit-policy'], '"login-ip";q=20;w=60, "login-account";q=5;w=300');
  });

  it('advertises a GCRA rule by its sustained rate, not its burst', () => {
    const headers = rateLimitHeaders([gcra]);
    assert.equal(headers['ratelimit-policy'], '"plan-free";q=300;w=60');
    assert.equal(headers['ratelimit-limit'], '300');
    assert.equal(headers.ratelimit, '"plan-free";r=59;t=1');
  });

  it('prefers a refusing limit, the one with the longest wait among several', () => {
    const refused = { ...perAccount, allowed: false, remaining: 0, retryAfterMs: 120_000 };
    const refusedSooner = { ...perIp, allowed: false, remaining: 0, retryAfterMs: 5_000 };
    assert.equal(tightestLimit([perIp, refused])?.policy, 'login-account');
    assert.equal(tightestLimit([refusedSooner, refused, gcra])?.policy, 'login-account');
    assert.equal(tightestLimit([refused, refusedSooner])?.policy, 'login-account');
  });

  it('sends nothing when no limit applied', () => {
    assert.deepEqual(rateLimitHeaders([]), {});
  });
});
