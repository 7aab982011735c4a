import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from './support/test-platform.ts';

const minute = 60_000;

/** Per-IP login tighter than per-account, and a refresh rule of its own (issue 13 finding 5). */
const limits = {
  enabled: true,
  anonymousPerIp: { algorithm: 'gcra', limit: 600, windowMs: minute, burst: 100 },
  plans: {
    free: { algorithm: 'gcra', limit: 300, windowMs: minute, burst: 60 },
    basic: null,
    premium: null,
    unlimited: null,
  },
  routes: {
    login: { perIp: { algorithm: 'sliding-window', limit: 3, windowMs: minute }, perAccount: { algorithm: 'sliding-window', limit: 10, windowMs: 5 * minute } },
    refresh: { perIp: { algorithm: 'sliding-window', limit: 2, windowMs: minute } },
  },
  perDevice: { algorithm: 'gcra', limit: 60, windowMs: minute, burst: 10 },
};

describe('edge security: rate-limit headers and rules (draft-ietf-httpapi-ratelimit-headers)', () => {
  let t: TestPlatform;

  before(async () => {
    t = await startTestPlatform({ rateLimits: true, overrides: { gateway: { rateLimits: limits } } });
  });
  after(() => t?.close());

  it('on login, the per-account check does not overwrite the tighter per-IP limit in the headers', async () => {
    const response = await t.api.call('POST', '/v1/auth/login', { body: { email: 'nobody@example.com', password: 'not the password' } });
    assert.equal(response.status, 401, response.text);
    assert.match(response.headers.get('ratelimit') ?? '', /^"login-ip";r=2;t=\d+$/);
    assert.equal(response.headers.get('ratelimit-remaining'), '2');
    assert.equal(response.headers.get('ratelimit-limit'), '3');
    const policy = response.headers.get('ratelimit-policy') ?? '';
    for (const item of ['"anonymous";q=600;w=60', '"login-ip";q=3;w=60', '"login-account";q=10;w=300']) assert.ok(policy.includes(item), `${item} in ${policy}`);
  });

  it('advertises GCRA by its rate (q per w), not by its burst', async () => {
    const response = await t.api.call('GET', '/v1/me');
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('ratelimit-policy'), '"anonymous";q=600;w=60');
    assert.equal(response.headers.get('ratelimit-limit'), '600');
  });

  it('holds refresh to its own rule, not to login', async () => {
    const statuses: number[] = [];
    for (let call = 0; call < 3; call++) {
      const response = await t.api.call('POST', '/v1/auth/refresh', { body: { refreshToken: `not-a-token-${call}` } });
      statuses.push(response.status);
      if (call === 2) {
        assert.equal(response.status, 429, response.text);
        assert.match(response.headers.get('ratelimit') ?? '', /^"refresh-ip";r=0;t=\d+$/);
        assert.ok(Number(response.headers.get('retry-after')) > 0);
      }
    }
    assert.notEqual(statuses[0], 429);
    // Login's allowance (3 per minute, one used above) was not spent by the refreshes.
    const login = await t.api.call('POST', '/v1/auth/login', { body: { email: 'nobody@example.com', password: 'not the password' } });
    assert.equal(login.status, 401, login.text);
    assert.match(login.headers.get('ratelimit') ?? '', /^"login-ip";r=1;t=\d+$/);
  });
});
