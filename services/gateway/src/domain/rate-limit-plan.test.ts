import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Value } from 'typebox/value';
import { RateLimitsSchema, limitsBeforeBody, limitsForAccount, type RateLimits } from './rate-limit-plan.ts';

const limits = Value.Default(RateLimitsSchema, {}) as RateLimits;

describe('rate-limit plan', () => {
  it('holds anonymous calls per IP and signed-in calls per user by plan', () => {
    assert.deepEqual(limitsBeforeBody(limits, undefined, { ip: '10.0.0.1', user: undefined }).map((limit) => limit.key), ['ip:10.0.0.1']);
    const free = limitsBeforeBody(limits, undefined, { ip: '10.0.0.1', user: { id: 'u1', plan: 'free' } });
    assert.deepEqual(free, [{ key: 'user:u1', rule: limits.plans.free, policy: 'plan-free' }]);
    const premium = limitsBeforeBody(limits, undefined, { ip: '10.0.0.1', user: { id: 'u2', plan: 'premium' } });
    assert.equal(premium[0]?.rule.limit, 1_200);
  });

  it('gives the unlimited plan no per-user limit', () => {
    assert.deepEqual(limitsBeforeBody(limits, undefined, { ip: '10.0.0.1', user: { id: 'op', plan: 'unlimited' } }), []);
  });

  it('adds route limits per IP and, where configured, per targeted account, account keys case-insensitive', () => {
    const login = limitsBeforeBody(limits, 'login', { ip: '10.0.0.9', user: undefined });
    assert.deepEqual(login.map((limit) => limit.key), ['ip:10.0.0.9', 'route:login:ip:10.0.0.9']);
    const perAccount = { ...limits, routes: { ...limits.routes, login: { ...limits.routes['login'], perAccount: limits.plans.free } } } as RateLimits;
    assert.deepEqual(limitsForAccount(perAccount, 'login', ' Ada@Example.com ').map((limit) => limit.key), ['route:login:account:ada@example.com']);
    assert.deepEqual(limitsForAccount(limits, 'register', 'ada@example.com'), []);
  });

  it('counts no login per account by default: the user service throttles accounts and lets the owner’s device through', () => {
    assert.deepEqual(limitsForAccount(limits, 'login', 'ada@example.com'), []);
  });

  it('applies nothing when switched off', () => {
    const off = { ...limits, enabled: false };
    assert.deepEqual(limitsBeforeBody(off, 'login', { ip: '1.1.1.1', user: undefined }), []);
    assert.deepEqual(limitsForAccount(off, 'login', 'a@b.c'), []);
  });
});
