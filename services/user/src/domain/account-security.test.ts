import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countAttempt, currentCount, delayAfter, judgeAttempt, type BackoffRule } from './attempt-backoff.ts';
import { loginChecks, resetChecks, signupChecks, type LoginThrottlePolicy } from './login-throttle.ts';
import { judgeMailToken, type MailTokenRecord } from './mail-token.ts';
import { judgePassword, type PasswordRule } from './password-policy.ts';

const second = 1000;
const rule: BackoffRule = { freeFailures: 3, baseDelayMs: second, maxDelayMs: 60 * second, forgetAfterMs: 3600 * second };

describe('attempt back-off', () => {
  it('waits nothing for the free failures, then doubles from the base up to the cap', () => {
    const delays = Array.from({ length: 12 }, (_, failures) => delayAfter(rule, failures));
    assert.deepEqual(delays, [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60].map((seconds) => seconds * second));
    assert.equal(delayAfter(rule, 10_000), 60 * second, 'no overflow for a huge count');
  });

  it('admits an attempt exactly when the wait after the last failure is over', () => {
    const count = { failures: 5, lastFailureAt: 0 };
    assert.deepEqual(judgeAttempt(rule, count, 4 * second - 1), { allowed: false, retryAfterMs: 1 });
    assert.deepEqual(judgeAttempt(rule, count, 4 * second), { allowed: true });
    assert.deepEqual(judgeAttempt(rule, undefined, 0), { allowed: true });
  });

  it('forgets a key after a quiet spell, and counts from one again', () => {
    const count = { failures: 9, lastFailureAt: 0 };
    assert.equal(currentCount(rule, count, rule.forgetAfterMs - 1), count);
    assert.equal(currentCount(rule, count, rule.forgetAfterMs), undefined);
    assert.deepEqual(countAttempt(rule, count, rule.forgetAfterMs), { failures: 1, lastFailureAt: rule.forgetAfterMs });
    assert.deepEqual(countAttempt(rule, count, 10), { failures: 10, lastFailureAt: 10 });
  });
});

const policy: LoginThrottlePolicy = { account: rule, device: { ...rule, freeFailures: 5 }, ip: { ...rule, freeFailures: 20 }, global: { ...rule, freeFailures: 1000 }, signupPerIp: rule, resetPerAccount: rule };

describe('login throttle keys', () => {
  it('judges a known device on its own count only: strangers’ failures at the account never reach it', () => {
    assert.deepEqual(
      loginChecks(policy, { account: 'ada@example.com', trustedDeviceId: 'd1', ip: '10.0.0.1' }).map((check) => [check.key, check.onSuccess]),
      [['login:device:d1', 'clear']],
    );
  });

  it('judges anyone else on the account, their address and the global count; without an address, no shared "unknown" bucket', () => {
    assert.deepEqual(
      loginChecks(policy, { account: 'ada@example.com', trustedDeviceId: undefined, ip: '10.0.0.1' }).map((check) => [check.key, check.onSuccess]),
      [
        ['login:account:ada@example.com', 'clear'],
        ['login:ip:10.0.0.1', 'forgive'],
        ['login:global', 'forgive'],
      ],
    );
    assert.deepEqual(
      loginChecks(policy, { account: 'ada@example.com', trustedDeviceId: undefined, ip: undefined }).map((check) => check.key),
      ['login:account:ada@example.com', 'login:global'],
    );
  });

  it('limits sign-ups per address, and reset mails per account and address', () => {
    assert.deepEqual(signupChecks(policy, undefined), []);
    assert.deepEqual(signupChecks(policy, '10.0.0.2').map((check) => check.key), ['signup:ip:10.0.0.2']);
    assert.deepEqual(resetChecks(policy, 'ada@example.com', '10.0.0.2').map((check) => check.key), ['reset:account:ada@example.com', 'signup:ip:10.0.0.2']);
  });
});

describe('password policy (NIST SP 800-63B)', () => {
  const common = new Set(['password123', '1234567890', 'qwertyuiop', 'iloveyou12']);
  const judge = (password: string, email = 'grace.hopper@example.com', displayName = 'Grace Hopper') =>
    judgePassword(password, { email, displayName }, (candidate) => common.has(candidate));
  const ruleOf = (password: string, email?: string, displayName?: string): PasswordRule | 'ok' => {
    const verdict = judge(password, email, displayName);
    return verdict.ok ? 'ok' : verdict.rule;
  };

  it('refuses every weak password of the issue, each naming the rule it broke', () => {
    assert.equal(ruleOf('aaaaaaaaaa'), 'repeated_character');
    assert.equal(ruleOf('1234567890'), 'common_password');
    assert.equal(ruleOf('password123'), 'common_password');
    assert.equal(ruleOf('grace.hopper@example.com'), 'contains_email');
    assert.equal(ruleOf('Grace Hopper', 'gh@example.com'), 'contains_name');
    assert.equal(ruleOf('          '), 'blank');
    assert.equal(ruleOf('short'), 'too_short');
    assert.equal(ruleOf('x'.repeat(64) + 'y'.repeat(65)), 'too_long');
  });

  it('sees through case, spaces and separators around listed words and identities', () => {
    assert.equal(ruleOf('PASSWORD 123'), 'common_password');
    assert.equal(ruleOf('Password-123'), 'common_password');
    assert.equal(ruleOf('A-A-A-A-A-A'), 'repeated_character');
    assert.equal(ruleOf('my hopper secret!'), 'contains_email');
    assert.equal(ruleOf('ilovemarguerite', 'm@example.com', 'Marguerite Yourcenar'), 'contains_name');
  });

  it('accepts long passphrases, and short name or email parts inside one (too common to refuse)', () => {
    assert.equal(ruleOf('correct horse battery staple'), 'ok');
    assert.equal(ruleOf('al went to the zoo', 'al@example.com', 'Al'), 'ok');
    assert.equal(ruleOf('plum tractor 42'), 'ok');
    // NIST counts characters: ten emoji are ten characters, not twenty UTF-16 units.
    assert.equal(ruleOf('🚗🚕🚙🚌🚎🏎🚓🚑🚒🚐'), 'ok');
    assert.equal(ruleOf('🚗🚕🚙🚌🚎'), 'too_short');
  });
});

describe('mail token judgement', () => {
  const token: MailTokenRecord = { tokenHash: 'h', userId: 'u', purpose: 'reset_password', email: 'a@example.com', createdAt: 0, expiresAt: 1000, usedAt: undefined };
  it('accepts a live unused token for its own purpose only', () => {
    assert.deepEqual(judgeMailToken(token, 'reset_password', 999), { kind: 'valid' });
    assert.deepEqual(judgeMailToken(token, 'verify_email', 0), { kind: 'invalid', why: 'wrong_purpose' });
  });
  it('refuses unknown, used and expired tokens', () => {
    assert.deepEqual(judgeMailToken(undefined, 'reset_password', 0), { kind: 'invalid', why: 'unknown' });
    assert.deepEqual(judgeMailToken({ ...token, usedAt: 5 }, 'reset_password', 10), { kind: 'invalid', why: 'used' });
    assert.deepEqual(judgeMailToken(token, 'reset_password', 1000), { kind: 'invalid', why: 'expired' });
  });
});
