import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { userDescriptor } from '@carshare/user-service';
import { assertError } from './support/error-shape.ts';
import { startTestPlatform, type TestPlatform } from './support/test-platform.ts';

// Issue 13, findings 2, 3 and 4, through the public API of the embedded platform: the user
// service's own throttling (the gateway's limits are off here, as in every e2e suite unless a test
// asks), the password policy, and email ownership with the embedded mail outbox.

describe('account security through the gateway', () => {
  let t: TestPlatform;
  const run = Date.now().toString(36);
  const email = (name: string) => `${name}-${run}@example.com`;

  before(async () => {
    t = await startTestPlatform();
  });
  after(() => t.close());

  async function lastMailTo(address: string): Promise<{ subject: string; token: string }> {
    const [mail] = await t.platform.module(userDescriptor).mailOutbox.list({ limit: 1, recipient: address });
    assert.ok(mail, `no mail to ${address}`);
    const token = /token=([A-Za-z0-9_-]+)/.exec(mail.text)?.[1];
    return { subject: mail.subject, token: token ?? '' };
  }

  it('answers a sign-up with a taken address exactly like a new one (202), and mails the owner instead of telling the caller', async () => {
    const body = { email: email('ada'), password: 'plum tractor 42', displayName: 'Ada' };
    const first = await t.api.call('POST', '/v1/auth/register', { body });
    const again = await t.api.call('POST', '/v1/auth/register', { body: { ...body, email: body.email.toUpperCase(), displayName: 'Imposter' } });
    const fresh = await t.api.call('POST', '/v1/auth/register', { body: { ...body, email: email('bea') } });
    assert.deepEqual([first.status, again.status, fresh.status], [202, 202, 202]);
    assert.equal(again.text, first.text);
    assert.equal(fresh.text, first.text);
    assert.doesNotMatch(again.text, /ada-/i, 'the answer does not echo the address');
    assert.equal((await lastMailTo(body.email)).subject, 'Someone tried to sign up with your carshare address');
  });

  it('lets an unverified rider log in, marked, and verifies the address with the mailed token once', async () => {
    const address = email('cy');
    await t.api.call('POST', '/v1/auth/register', { body: { email: address, password: 'plum tractor 42', displayName: 'Cy' } });
    const login = await t.api.call('POST', '/v1/auth/login', { body: { email: address, password: 'plum tractor 42' } });
    assert.equal(login.status, 200, login.text);
    assert.equal(login.body.user.emailVerified, false);
    const { token } = await lastMailTo(address);
    const verified = await t.api.call('POST', '/v1/auth/verify-email', { body: { token } });
    assert.equal(verified.status, 200, verified.text);
    assert.equal(verified.body.emailVerified, true);
    assertError(await t.api.call('POST', '/v1/auth/verify-email', { body: { token } }), 400, 'INVALID_MAIL_TOKEN');
    const me = await t.api.call('GET', '/v1/me', { token: login.body.tokens.accessToken });
    assert.equal(me.body.user.emailVerified, true);
  });

  it('refuses each weak password of the issue with 400 WEAK_PASSWORD naming the rule', async () => {
    const address = email('gbm');
    const cases: Array<[string, string]> = [
      ['aaaaaaaaaa', 'repeated_character'],
      ['1234567890', 'common_password'],
      ['password123', 'common_password'],
      [address, 'contains_email'],
      ['Grace Brewster Murray', 'contains_name'],
      ['          ', 'blank'],
    ];
    for (const [password, rule] of cases) {
      const response = await t.api.call('POST', '/v1/auth/register', { body: { email: address, password, displayName: 'Grace Brewster Murray' } });
      assertError(response, 400, 'WEAK_PASSWORD');
      assert.equal(response.body.error.details.rule, rule, password);
    }
  });

  it('keeps the owner able to log in with their device token after a stranger’s wrong passwords, while the stranger gets 429', async () => {
    const address = email('dan');
    await t.api.call('POST', '/v1/auth/register', { body: { email: address, password: 'plum tractor 42', displayName: 'Dan' } });
    const first = await t.api.call('POST', '/v1/auth/login', { body: { email: address, password: 'plum tractor 42' } });
    const deviceToken = first.body.deviceToken as string;
    assert.ok(deviceToken);
    const stranger: number[] = [];
    for (let guess = 0; guess < 5; guess += 1) stranger.push((await t.api.call('POST', '/v1/auth/login', { body: { email: address, password: 'guessing wrong' } })).status);
    assert.deepEqual(stranger, [401, 401, 401, 429, 429]);
    const refused = await t.api.call('POST', '/v1/auth/login', { body: { email: address, password: 'plum tractor 42' } });
    assertError(refused, 429, 'LOGIN_THROTTLED');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    const owner = await t.api.call('POST', '/v1/auth/login', { body: { email: address, password: 'plum tractor 42', deviceToken } });
    assert.equal(owner.status, 200, owner.text);
    assert.equal(owner.body.deviceToken, deviceToken);
  });

  it('resets a forgotten password by mail: the same answer for unknown addresses, a single-use link, every session ended', async () => {
    const address = email('eve');
    await t.api.call('POST', '/v1/auth/register', { body: { email: address, password: 'plum tractor 42', displayName: 'Eve' } });
    const session = await t.api.call('POST', '/v1/auth/login', { body: { email: address, password: 'plum tractor 42' } });
    const unknown = await t.api.call('POST', '/v1/auth/password-reset', { body: { email: email('nobody') } });
    const known = await t.api.call('POST', '/v1/auth/password-reset', { body: { email: address } });
    assert.deepEqual([unknown.status, known.status], [202, 202]);
    assert.equal(known.text, unknown.text);
    const { subject, token } = await lastMailTo(address);
    assert.equal(subject, 'Set a new carshare password');
    assertError(await t.api.call('POST', '/v1/auth/password-reset/confirm', { body: { token, newPassword: 'password123' } }), 400, 'WEAK_PASSWORD');
    const confirmed = await t.api.call('POST', '/v1/auth/password-reset/confirm', { body: { token, newPassword: 'a brand new passphrase' } });
    assert.equal(confirmed.status, 204, confirmed.text);
    assertError(await t.api.call('POST', '/v1/auth/password-reset/confirm', { body: { token, newPassword: 'yet another passphrase' } }), 400, 'INVALID_MAIL_TOKEN');
    assertError(await t.api.call('POST', '/v1/auth/refresh', { body: { refreshToken: session.body.tokens.refreshToken } }), 401, 'INVALID_REFRESH_TOKEN');
    const relogin = await t.api.call('POST', '/v1/auth/login', { body: { email: address, password: 'a brand new passphrase' } });
    assert.equal(relogin.status, 200, relogin.text);
  });
});
