import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { AppError, type Caller } from '@carshare/platform';
import type { User } from './domain/user.ts';
import { newUserTestService, type UserServiceFakes } from './testing/new-user-test-service.ts';
import { aCaller, aUserRecord, defaultTestPassword } from './testing/user-factories.ts';
import type { UserService } from './user-service.ts';

// Issue 13, the account side: login throttling that strangers cannot turn against the owner, the
// password policy, email ownership and the revocation events a gateway's deny list is fed by.

function rejectsWith(reason: string, details?: Record<string, unknown>) {
  return (error: unknown) => {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.reason, reason, error.message);
    if (details) for (const [key, value] of Object.entries(details)) assert.deepEqual(error.details[key], value, key);
    return true;
  };
}

async function outcome(attempt: Promise<unknown>): Promise<string> {
  try {
    await attempt;
    return 'ok';
  } catch (error) {
    return error instanceof AppError ? error.reason : String(error);
  }
}

function tokenIn(text: string): string {
  const match = /token=([A-Za-z0-9_-]+)/.exec(text);
  assert.ok(match?.[1], `no token in: ${text}`);
  return match[1];
}

const minute = 60_000;

describe('account security', () => {
  let sut: UserService;
  let fakes: UserServiceFakes;
  let ada: User;
  let admin: Caller;

  beforeEach(async () => {
    ({ sut, fakes } = newUserTestService());
    const adaRecord = aUserRecord({ email: 'ada@example.com', displayName: 'Ada' });
    const adminRecord = aUserRecord({ email: 'root@example.com', role: 'admin', plan: 'unlimited' });
    for (const record of [adaRecord, adminRecord]) await fakes.users.insert(record);
    ada = (await fakes.users.findById(adaRecord.id)) as User;
    admin = aCaller(adminRecord);
  });

  const wrong = (ip: string, deviceToken?: string) =>
    sut.login({ email: 'ada@example.com', password: 'not the password', client: { ip, ...(deviceToken !== undefined && { deviceToken }) } });
  const right = (ip: string, deviceToken?: string) =>
    sut.login({ email: 'ada@example.com', password: defaultTestPassword, client: { ip, ...(deviceToken !== undefined && { deviceToken }) } });

  describe('login throttling', () => {
    it('lets the owner in from another address with their device token after a stranger’s 5 wrong passwords, while the stranger waits', async () => {
      const { deviceToken } = await right('192.0.2.1');
      for (let guess = 0; guess < 5; guess += 1) {
        // Spaced out, so each guess is checked rather than refused.
        if (guess > 0) fakes.clock.advance(minute);
        assert.equal(await outcome(wrong('203.0.113.9')), 'INVALID_CREDENTIALS', `guess ${guess + 1}`);
      }
      await assert.rejects(wrong('203.0.113.9'), rejectsWith('LOGIN_THROTTLED'));
      const owner = await right('198.51.100.7', deviceToken);
      assert.equal(owner.user.id, ada.id);
      assert.equal(owner.deviceToken, deviceToken, 'a known device keeps its token');
    });

    it('slows a stranger flood exponentially without letting refused attempts lengthen the wait', async () => {
      const results: string[] = [];
      for (let attempt = 0; attempt < 50; attempt += 1) results.push(await outcome(wrong('203.0.113.9')));
      // Three free failures, then the fourth must wait a second: 47 refusals, none of them checked.
      assert.deepEqual(results.slice(0, 4), ['INVALID_CREDENTIALS', 'INVALID_CREDENTIALS', 'INVALID_CREDENTIALS', 'LOGIN_THROTTLED']);
      assert.equal(results.filter((result) => result === 'LOGIN_THROTTLED').length, 47);
      const refused = await wrong('203.0.113.9').catch((error: unknown) => error as AppError);
      assert.equal((refused as AppError).details['retryAfterMs'], 1000);
      fakes.clock.advance(1000);
      assert.equal(await outcome(wrong('203.0.113.9')), 'INVALID_CREDENTIALS', 'one guess per wait');
      assert.equal(await outcome(wrong('203.0.113.9')), 'LOGIN_THROTTLED');
      const doubled = await wrong('203.0.113.9').catch((error: unknown) => error as AppError);
      assert.equal((doubled as AppError).details['retryAfterMs'], 2000);
    });

    it('counts concurrent guesses before checking them: of 10 at once, only the 3 free ones are checked', async () => {
      const results = await Promise.all(Array.from({ length: 10 }, () => outcome(wrong('203.0.113.9'))));
      assert.equal(results.filter((result) => result === 'INVALID_CREDENTIALS').length, 3);
      assert.equal(results.filter((result) => result === 'LOGIN_THROTTLED').length, 7);
    });

    it('gives no allowance for a device token of another account, nor for a made-up one', async () => {
      await fakes.users.insert(aUserRecord({ email: 'mallory@example.com' }));
      const { deviceToken: mallorys } = await sut.login({ email: 'mallory@example.com', password: defaultTestPassword });
      for (let guess = 0; guess < 3; guess += 1) await wrong('203.0.113.9', mallorys).catch(() => undefined);
      await assert.rejects(wrong('203.0.113.9', mallorys), rejectsWith('LOGIN_THROTTLED'));
      await assert.rejects(wrong('203.0.113.9', 'made-up-device-token-0000'), rejectsWith('LOGIN_THROTTLED'));
    });

    it('throttles a known device on its own count too: a stolen device token buys 5 guesses, not more', async () => {
      const { deviceToken } = await right('192.0.2.1');
      for (let guess = 0; guess < 5; guess += 1) assert.equal(await outcome(wrong('203.0.113.9', deviceToken)), 'INVALID_CREDENTIALS');
      await assert.rejects(wrong('203.0.113.9', deviceToken), rejectsWith('LOGIN_THROTTLED'));
    });

    it('throttles calls that name no client (a direct RPC caller) per account all the same', async () => {
      const direct = () => sut.login({ email: 'ada@example.com', password: 'not the password' });
      for (let guess = 0; guess < 3; guess += 1) assert.equal(await outcome(direct()), 'INVALID_CREDENTIALS');
      await assert.rejects(direct(), rejectsWith('LOGIN_THROTTLED'));
      await assert.rejects(sut.login({ email: 'ada@example.com', password: defaultTestPassword }), rejectsWith('LOGIN_THROTTLED'), 'even the right password waits its turn');
    });

    it('holds one address to 20 failures across accounts, and a success takes its count back', async () => {
      for (let index = 0; index < 19; index += 1) {
        assert.equal(await outcome(sut.login({ email: `nobody${index}@example.com`, password: 'wrong password', client: { ip: '203.0.113.9' } })), 'INVALID_CREDENTIALS');
      }
      await right('203.0.113.9');
      assert.equal(await outcome(sut.login({ email: 'nobody19@example.com', password: 'wrong password', client: { ip: '203.0.113.9' } })), 'INVALID_CREDENTIALS');
      await assert.rejects(sut.login({ email: 'nobody20@example.com', password: 'wrong password', client: { ip: '203.0.113.9' } }), rejectsWith('LOGIN_THROTTLED'));
      assert.equal(await outcome(sut.login({ email: 'nobody20@example.com', password: 'wrong password', client: { ip: '192.0.2.50' } })), 'INVALID_CREDENTIALS');
    });

    it('clears the account’s count on a success, so the owner’s own typos do not pile up', async () => {
      for (let guess = 0; guess < 3; guess += 1) await wrong('192.0.2.1').catch(() => undefined);
      fakes.clock.advance(1000);
      await right('192.0.2.1');
      assert.equal(fakes.attempts.count('login:account:ada@example.com'), undefined);
      for (let guess = 0; guess < 3; guess += 1) assert.equal(await outcome(wrong('192.0.2.1')), 'INVALID_CREDENTIALS');
    });
  });

  describe('password policy', () => {
    for (const [password, rule] of [
      ['aaaaaaaaaa', 'repeated_character'],
      ['1234567890', 'common_password'],
      ['password123', 'common_password'],
      ['gh1906@example.com', 'contains_email'],
      ['Grace Hopper Fan', 'contains_name'],
      ['          ', 'blank'],
    ] as const) {
      it(`refuses "${password}" at sign-up (${rule}) and stores nothing`, async () => {
        await assert.rejects(
          sut.register({ email: 'gh1906@example.com', password, displayName: 'Grace Hopper Fan' }),
          rejectsWith('WEAK_PASSWORD', { rule, field: 'password' }),
        );
        assert.equal(await fakes.users.findByEmailWithPassword('gh1906@example.com'), undefined);
        assert.equal(fakes.mails.mails.length, 0);
      });
    }

    it('applies to a password change and a reset as well', async () => {
      await assert.rejects(sut.changePassword({ currentPassword: defaultTestPassword, newPassword: 'password123' }, aCaller(ada)), rejectsWith('WEAK_PASSWORD', { rule: 'common_password' }));
      await sut.requestPasswordReset({ email: 'ada@example.com' });
      const token = tokenIn(fakes.mails.mails.at(-1)?.text ?? '');
      await assert.rejects(sut.confirmPasswordReset({ token, newPassword: 'ada@example.com' }), rejectsWith('WEAK_PASSWORD', { rule: 'contains_email' }));
      // A refused password leaves the link usable.
      await sut.confirmPasswordReset({ token, newPassword: 'plum tractor 42' });
    });
  });

  describe('email ownership', () => {
    it('registers an unverified rider, mails a single-use link, and verifies once', async () => {
      const answer = await sut.register({ email: 'Bob@Example.com', password: 'plum tractor 42', displayName: 'Bob' });
      assert.equal(answer.status, 'verification_sent');
      const session = await sut.login({ email: 'bob@example.com', password: 'plum tractor 42' });
      assert.equal(session.user.emailVerified, false, 'unverified accounts may log in, marked');
      const [mail] = fakes.mails.mails;
      assert.equal(mail?.to, 'bob@example.com');
      const token = tokenIn(mail?.text ?? '');
      assert.equal(await fakes.mailTokens.find(token), undefined, 'the token itself is not a key: only its hash is stored');
      const verified = await sut.verifyEmail({ token });
      assert.equal(verified.emailVerified, true);
      assert.deepEqual(fakes.outbox.typesFor(verified.id), ['user.registered', 'user.email_verified']);
      await assert.rejects(sut.verifyEmail({ token }), rejectsWith('INVALID_MAIL_TOKEN'));
    });

    it('refuses a verification link after it expired', async () => {
      await sut.register({ email: 'late@example.com', password: 'plum tractor 42', displayName: 'Late' });
      const token = tokenIn(fakes.mails.mails[0]?.text ?? '');
      fakes.clock.advance(48 * 60 * minute);
      await assert.rejects(sut.verifyEmail({ token }), rejectsWith('INVALID_MAIL_TOKEN'));
    });

    it('resets a password with the newest link only, once, ending every session', async () => {
      const before = await right('192.0.2.1');
      const unknown = await sut.requestPasswordReset({ email: 'nobody@example.com' });
      assert.equal(fakes.mails.mails.length, 0, 'no mail for an address without an account');
      const known = await sut.requestPasswordReset({ email: 'ada@example.com' });
      assert.deepEqual(known, unknown, 'the same answer either way');
      const older = tokenIn(fakes.mails.mails[0]?.text ?? '');
      await sut.requestPasswordReset({ email: 'ada@example.com' });
      const newest = tokenIn(fakes.mails.mails[1]?.text ?? '');
      await assert.rejects(sut.confirmPasswordReset({ token: older, newPassword: 'plum tractor 42' }), rejectsWith('INVALID_MAIL_TOKEN'));
      await sut.confirmPasswordReset({ token: newest, newPassword: 'plum tractor 42' });
      await assert.rejects(sut.confirmPasswordReset({ token: newest, newPassword: 'another tractor 43' }), rejectsWith('INVALID_MAIL_TOKEN'));
      await assert.rejects(sut.refresh({ refreshToken: before.tokens.refreshToken }), rejectsWith('INVALID_REFRESH_TOKEN'));
      await assert.rejects(right('192.0.2.1'), rejectsWith('INVALID_CREDENTIALS'));
      await sut.login({ email: 'ada@example.com', password: 'plum tractor 42' });
      const revoked = fakes.outbox.events.find((event) => event.type === 'user.sessions_revoked');
      assert.deepEqual(revoked?.data, {
        userId: ada.id,
        reason: 'password_reset',
        revokedBefore: new Date(fakes.clock.now()).toISOString(),
        deniedUntil: new Date(fakes.clock.now() + 900_000).toISOString(),
      });
    });
  });

  describe('revocation events', () => {
    it('names the session on logout: the refresh family, which is the sid signed into its access tokens', async () => {
      const session = await right('192.0.2.1');
      const sid = fakes.accessTokens.sessions.at(-1);
      await sut.logout({ refreshToken: session.tokens.refreshToken });
      await sut.logout({ refreshToken: session.tokens.refreshToken });
      const events = fakes.outbox.events.filter((event) => event.type === 'user.sessions_revoked');
      assert.equal(events.length, 1, 'a second logout revokes nothing new');
      assert.deepEqual(events[0]?.data, {
        userId: ada.id,
        sessionId: sid,
        reason: 'logout',
        revokedBefore: new Date(fakes.clock.now()).toISOString(),
        deniedUntil: new Date(fakes.clock.now() + 900_000).toISOString(),
      });
    });

    it('keeps the sid across refreshes and revokes that session when a rotated token comes back', async () => {
      const session = await right('192.0.2.1');
      const rotated = await sut.refresh({ refreshToken: session.tokens.refreshToken });
      const [first, second] = fakes.accessTokens.sessions.slice(-2);
      assert.equal(first, second);
      await assert.rejects(sut.refresh({ refreshToken: session.tokens.refreshToken }), rejectsWith('REFRESH_TOKEN_REUSED'));
      const event = fakes.outbox.events.find((stored) => stored.type === 'user.sessions_revoked');
      assert.deepEqual([event?.data && (event.data as { sessionId: string }).sessionId, (event?.data as { reason: string }).reason], [first, 'refresh_token_reused']);
      await assert.rejects(sut.refresh({ refreshToken: rotated.tokens.refreshToken }), rejectsWith('INVALID_REFRESH_TOKEN'));
    });

    it('records user.role_changed with the old and new role, and nothing when the role stays', async () => {
      await sut.setUserRole({ userId: ada.id, role: 'operator' }, admin);
      await sut.setUserRole({ userId: ada.id, role: 'operator' }, admin);
      const changes = fakes.outbox.events.filter((event) => event.type === 'user.role_changed');
      assert.equal(changes.length, 1);
      assert.deepEqual(changes[0]?.data, {
        userId: ada.id,
        previousRole: 'rider',
        role: 'operator',
        changedAt: new Date(fakes.clock.now()).toISOString(),
        deniedUntil: new Date(fakes.clock.now() + 900_000).toISOString(),
      });
    });

    it('ends every session on a password change and says so', async () => {
      const session = await right('192.0.2.1');
      await assert.rejects(sut.changePassword({ currentPassword: 'not the password', newPassword: 'plum tractor 42' }, aCaller(ada)), rejectsWith('INVALID_CREDENTIALS'));
      await sut.changePassword({ currentPassword: defaultTestPassword, newPassword: 'plum tractor 42' }, aCaller(ada));
      await assert.rejects(sut.refresh({ refreshToken: session.tokens.refreshToken }), rejectsWith('INVALID_REFRESH_TOKEN'));
      assert.deepEqual(fakes.outbox.typesFor(ada.id), ['user.sessions_revoked']);
    });
  });
});
