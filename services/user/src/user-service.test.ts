import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { AppError, type Caller } from '@carshare/platform';
import { failOnCall } from '@carshare/testing';
import type { User } from './domain/user.ts';
import { fakePasswordHash } from './testing/fake-password-hasher.ts';
import { newUserTestService, type UserServiceFakes } from './testing/new-user-test-service.ts';
import { aCaller, aSession, aUserRecord, defaultTestPassword, refreshTokenHash } from './testing/user-factories.ts';
import type { UserService } from './user-service.ts';

// The use cases on in-memory fakes: the rules, the events and what a failing port leaves behind.
// What only SQL can show (unique index, keyset pages, races, the outbox relay, the read cache,
// real tokens) is in user-service-sql.test.ts.

function rejectsWith(reason: string) {
  return (error: unknown) => {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.reason, reason);
    return true;
  };
}

const day = 24 * 3600 * 1000;

describe('user service use cases', () => {
  let sut: UserService;
  let fakes: UserServiceFakes;
  let operator: Caller;
  let admin: Caller;
  let ada: User;

  beforeEach(async () => {
    ({ sut, fakes } = newUserTestService());
    const operatorRecord = aUserRecord({ email: 'op@example.com', role: 'operator', plan: 'unlimited' });
    const adminRecord = aUserRecord({ email: 'root@example.com', role: 'admin', plan: 'unlimited' });
    const adaRecord = aUserRecord({ email: 'ada@example.com', displayName: 'Ada' });
    for (const record of [operatorRecord, adminRecord, adaRecord]) await fakes.users.insert(record);
    operator = aCaller(operatorRecord);
    admin = aCaller(adminRecord);
    ada = (await fakes.users.findById(adaRecord.id)) as User;
  });

  const login = (email = 'ada@example.com', password = defaultTestPassword) => sut.login({ email, password });
  /** Sign-up answers the same for every address; the session comes from logging in. */
  const signUp = async (input: { email: string; password: string; displayName: string }, origin = {}) => {
    await sut.register(input, origin);
    return sut.login(input);
  };

  describe('register and login', () => {
    it('registers a rider on the free plan with a normalised email, a hashed password and a session', async () => {
      const session = await signUp({ email: ' Bob@Example.com ', password: 'bob password 1', displayName: ' Bob ' });
      assert.deepEqual(
        { email: session.user.email, displayName: session.user.displayName, role: session.user.role, plan: session.user.plan, status: session.user.status },
        { email: 'bob@example.com', displayName: 'Bob', role: 'rider', plan: 'free', status: 'active' },
      );
      assert.equal((await fakes.users.findByEmailWithPassword('bob@example.com'))?.passwordHash, fakePasswordHash('bob password 1'));
      assert.equal(session.tokens.expiresIn, 900);
      assert.equal(fakes.accessTokens.signed.at(-1)?.id, session.user.id);
      assert.ok(await fakes.refreshTokens.find(refreshTokenHash(session.tokens.refreshToken)));
    });

    it('records user.registered with the account, carrying the caller’s trace', async () => {
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const session = await signUp({ email: 'ev@example.com', password: 'plum tractor 42', displayName: 'Ev' }, { traceparent });
      const [event, ...others] = fakes.outbox.events.filter((stored) => stored.subject === session.user.id);
      assert.equal(others.length, 0);
      assert.equal(event?.type, 'user.registered');
      assert.equal(event?.source, 'user');
      assert.equal(event?.traceparent, traceparent);
      assert.deepEqual(event?.data, { userId: session.user.id, email: 'ev@example.com', role: 'rider', plan: 'free' });
    });

    it('answers a taken email (in another letter case) as a new one, records nothing for it and mails its owner instead', async () => {
      const before = fakes.outbox.events.length;
      const fresh = await sut.register({ email: 'new@example.com', password: 'another password', displayName: 'New' });
      const taken = await sut.register({ email: 'ADA@example.com ', password: 'another password', displayName: 'Imposter' });
      assert.deepEqual(taken, fresh);
      assert.equal(fakes.outbox.events.length, before + 1);
      assert.equal(fakes.users.rows().filter((row) => row.email === 'ada@example.com').length, 1);
      assert.deepEqual(
        fakes.mails.mails.map((mail) => [mail.to, mail.subject]),
        [
          ['new@example.com', 'Confirm your carshare address'],
          ['ada@example.com', 'Someone tried to sign up with your carshare address'],
        ],
      );
    });

    it('logs in with the right password only, with one message for an unknown email and a wrong password', async () => {
      assert.equal((await login('ADA@example.com ')).user.id, ada.id);
      await assert.rejects(login('ada@example.com', 'wrong password!'), rejectsWith('INVALID_CREDENTIALS'));
      await assert.rejects(login('nobody@example.com', 'wrong password!'), rejectsWith('INVALID_CREDENTIALS'));
    });

    it('tells a suspended user so only after the password matched', async () => {
      await sut.suspendUser({ userId: ada.id, reason: 'unpaid damage' }, operator);
      await assert.rejects(login('ada@example.com', 'wrong password!'), rejectsWith('INVALID_CREDENTIALS'));
      await assert.rejects(login(), rejectsWith('USER_SUSPENDED'));
    });

    it('refuses a login against an unreadable stored hash as a wrong password, and names the user to the hasher', async () => {
      const damaged = aUserRecord({ email: 'damaged@example.com', passwordHash: 'truncated-by-a-bad-import' });
      await fakes.users.insert(damaged);
      await assert.rejects(login('damaged@example.com'), rejectsWith('INVALID_CREDENTIALS'));
      assert.deepEqual(fakes.passwords.unreadable, [damaged.id]);
    });
  });

  describe('sessions', () => {
    it('rotates refresh tokens and ends the whole family when a rotated one comes back', async () => {
      const first = await login();
      const second = await sut.refresh({ refreshToken: first.tokens.refreshToken });
      const third = await sut.refresh({ refreshToken: second.tokens.refreshToken });
      assert.notEqual(third.tokens.refreshToken, second.tokens.refreshToken);
      // An attacker replays the stolen first token: everything of this login ends, the live one too.
      await assert.rejects(sut.refresh({ refreshToken: first.tokens.refreshToken }), rejectsWith('REFRESH_TOKEN_REUSED'));
      await assert.rejects(sut.refresh({ refreshToken: third.tokens.refreshToken }), rejectsWith('INVALID_REFRESH_TOKEN'));
      // Another login of the same user is another family, untouched.
      const other = await login();
      await sut.refresh({ refreshToken: other.tokens.refreshToken });
    });

    it('expires refresh tokens after 30 days, not a millisecond before', async () => {
      const session = await login();
      const other = await login();
      fakes.clock.advance(30 * day - 1);
      await sut.refresh({ refreshToken: session.tokens.refreshToken });
      fakes.clock.advance(1);
      await assert.rejects(sut.refresh({ refreshToken: other.tokens.refreshToken }), rejectsWith('INVALID_REFRESH_TOKEN'));
    });

    it('refreshes a seeded session and signs for the user as stored now', async () => {
      const seeded = aSession(ada, { issuedAt: fakes.clock.now() });
      await fakes.refreshTokens.insert(seeded.record);
      await sut.setUserPlan({ userId: ada.id, plan: 'premium' }, operator);
      const refreshed = await sut.refresh({ refreshToken: seeded.refreshToken });
      assert.equal(refreshed.user.plan, 'premium');
      assert.equal(fakes.accessTokens.signed.at(-1)?.plan, 'premium');
    });

    it('ends sessions on logout, and answers a logout of an unknown token the same way', async () => {
      const session = await login();
      assert.deepEqual(await sut.logout({ refreshToken: session.tokens.refreshToken }), {});
      await assert.rejects(sut.refresh({ refreshToken: session.tokens.refreshToken }), rejectsWith('INVALID_REFRESH_TOKEN'));
      assert.deepEqual(await sut.logout({ refreshToken: 'never-issued' }), {});
    });
  });

  describe('reading users', () => {
    it('lets riders read only themselves and operators read anyone', async () => {
      const bob = (await signUp({ email: 'bob@example.com', password: 'bob password 1', displayName: 'Bob' })).user;
      const adaCaller = aCaller(ada);
      assert.equal((await sut.getUser({ userId: ada.id }, adaCaller)).email, 'ada@example.com');
      await assert.rejects(sut.getUser({ userId: bob.id }, adaCaller), rejectsWith('NOT_YOUR_USER'));
      await assert.rejects(sut.getUser({ userId: bob.id }, undefined), rejectsWith('AUTHENTICATION_REQUIRED'));
      assert.equal((await sut.getUser({ userId: bob.id }, operator)).email, 'bob@example.com');
      await assert.rejects(sut.getUser({ userId: 'ffffffff-0000-7000-8000-ffffffffffff' }, operator), rejectsWith('USER_NOT_FOUND'));
    });

    it('lists users for staff only, and refuses a cursor it did not give out', async () => {
      await assert.rejects(sut.listUsers({ limit: 10 }, aCaller(ada)), rejectsWith('OPERATOR_ONLY'));
      const page = await sut.listUsers({ limit: 2 }, operator);
      assert.equal(page.items.length, 2);
      assert.ok(page.nextCursor);
      const rest = await sut.listUsers({ limit: 2, cursor: page.nextCursor }, operator);
      assert.deepEqual(rest.items.length, 1);
      assert.equal(rest.nextCursor, null);
      await assert.rejects(sut.listUsers({ limit: 3, cursor: 'not-a-cursor' }, operator), rejectsWith('INVALID_CURSOR'));
    });
  });

  describe('suspension', () => {
    it('suspends with a reason, ends every session, and records user.suspended then user.reactivated', async () => {
      const session = await login();
      const suspended = await sut.suspendUser({ userId: ada.id, reason: 'unpaid damage' }, operator);
      assert.deepEqual({ status: suspended.status, reason: suspended.suspendedReason }, { status: 'suspended', reason: 'unpaid damage' });
      assert.ok(fakes.refreshTokens.rows().every((token) => token.userId !== ada.id || token.revokedAt !== undefined));
      await assert.rejects(sut.refresh({ refreshToken: session.tokens.refreshToken }), rejectsWith('INVALID_REFRESH_TOKEN'));
      const back = await sut.reactivateUser({ userId: ada.id }, operator);
      assert.deepEqual({ status: back.status, reason: back.suspendedReason }, { status: 'active', reason: undefined });
      assert.deepEqual(fakes.outbox.typesFor(ada.id), ['user.suspended', 'user.sessions_revoked', 'user.reactivated']);
      assert.deepEqual(fakes.outbox.events.find((event) => event.type === 'user.suspended')?.data, { userId: ada.id, reason: 'unpaid damage' });
      await login();
    });

    it('treats suspending a suspended user, or reactivating an active one, as done: no second event', async () => {
      await sut.suspendUser({ userId: ada.id, reason: 'first' }, operator);
      const again = await sut.suspendUser({ userId: ada.id, reason: 'second' }, operator);
      assert.equal(again.suspendedReason, 'first');
      await sut.reactivateUser({ userId: ada.id }, operator);
      await sut.reactivateUser({ userId: ada.id }, operator);
      assert.deepEqual(fakes.outbox.typesFor(ada.id), ['user.suspended', 'user.sessions_revoked', 'user.reactivated']);
    });

    it('answers a suspension that lost a race with the winner’s result, not a second event', async () => {
      // The status is read, then another instance suspends before this request's update runs.
      const read = fakes.users.findById.bind(fakes.users);
      let raced = false;
      fakes.users.findById = async (id) => {
        const user = await read(id);
        if (!raced && id === ada.id) {
          raced = true;
          await fakes.users.update(ada.id, { status: 'suspended', suspendedReason: 'the other operator' }, fakes.clock.now());
        }
        return user;
      };
      const result = await sut.suspendUser({ userId: ada.id, reason: 'late' }, operator);
      assert.equal(result.suspendedReason, 'the other operator');
      assert.deepEqual(fakes.outbox.typesFor(ada.id), []);
    });

    it('lets a refresh of a suspended user end its family', async () => {
      const session = await login();
      await fakes.users.update(ada.id, { status: 'suspended', suspendedReason: 'set elsewhere' }, fakes.clock.now());
      await assert.rejects(sut.refresh({ refreshToken: session.tokens.refreshToken }), rejectsWith('USER_SUSPENDED'));
      assert.ok(fakes.refreshTokens.rows().every((token) => token.revokedAt !== undefined));
    });
  });

  describe('roles and plans', () => {
    it('keeps roles and plans out of self-service, and admins out of operators’ reach', async () => {
      await assert.rejects(sut.suspendUser({ userId: operator.userId, reason: 'x' }, operator), rejectsWith('CANNOT_SUSPEND_SELF'));
      await assert.rejects(sut.setUserRole({ userId: operator.userId, role: 'admin' }, operator), rejectsWith('ADMIN_ONLY'));
      await assert.rejects(sut.setUserRole({ userId: admin.userId, role: 'rider' }, admin), rejectsWith('CANNOT_CHANGE_OWN_ROLE'));
      await assert.rejects(sut.setUserPlan({ userId: operator.userId, plan: 'free' }, operator), rejectsWith('CANNOT_CHANGE_OWN_PLAN'));
      await assert.rejects(sut.suspendUser({ userId: admin.userId, reason: 'coup' }, operator), rejectsWith('ADMIN_ONLY'));
      await assert.rejects(sut.setUserPlan({ userId: ada.id, plan: 'premium' }, aCaller(ada)), rejectsWith('OPERATOR_ONLY'));
    });

    it('puts a new role into the token at the next refresh', async () => {
      const session = await login();
      assert.equal((await sut.setUserRole({ userId: ada.id, role: 'operator' }, admin)).role, 'operator');
      assert.equal((await sut.setUserPlan({ userId: ada.id, plan: 'premium' }, operator)).plan, 'premium');
      const refreshed = await sut.refresh({ refreshToken: session.tokens.refreshToken });
      assert.deepEqual({ role: refreshed.user.role, plan: refreshed.user.plan }, { role: 'operator', plan: 'premium' });
      assert.deepEqual({ role: fakes.accessTokens.signed.at(-1)?.role, plan: fakes.accessTokens.signed.at(-1)?.plan }, { role: 'operator', plan: 'premium' });
    });
  });

  describe('when a port fails', () => {
    it('leaves no account behind when recording user.registered fails, so the same email can register again', async () => {
      // The second event write fails: the first registration commits, the second leaves nothing.
      const outboxWrites = failOnCall(fakes.outbox, 'add', 2, new Error('outbox write failed'));
      const carol = await signUp({ email: 'carol@example.com', password: 'plum tractor 42', displayName: 'Carol' });
      await assert.rejects(signUp({ email: 'bob@example.com', password: 'bob password 1', displayName: 'Bob' }), /outbox write failed/);
      assert.equal(await fakes.users.findByEmailWithPassword('bob@example.com'), undefined);
      assert.equal((await fakes.users.findById(carol.user.id))?.email, 'carol@example.com');
      assert.deepEqual(fakes.outbox.events.map((event) => event.subject), [carol.user.id]);
      const bob = await signUp({ email: 'bob@example.com', password: 'bob password 1', displayName: 'Bob' });
      assert.deepEqual(fakes.outbox.typesFor(bob.user.id), ['user.registered']);
      assert.equal(outboxWrites.calls, 3);
    });

    it('leaves the user active with live sessions when recording user.suspended fails', async () => {
      const session = await login();
      failOnCall(fakes.outbox, 'add', 1, new Error('outbox write failed'));
      await assert.rejects(sut.suspendUser({ userId: ada.id, reason: 'unpaid damage' }, operator), /outbox write failed/);
      assert.equal((await fakes.users.findById(ada.id))?.status, 'active');
      assert.ok(fakes.refreshTokens.rows().every((token) => token.revokedAt === undefined));
      assert.deepEqual(fakes.outbox.typesFor(ada.id), []);
      assert.deepEqual(fakes.unitOfWork.counts, { committed: 0, rolledBack: 1 });
      await sut.refresh({ refreshToken: session.tokens.refreshToken });
      // Retried, it goes through once.
      await sut.suspendUser({ userId: ada.id, reason: 'unpaid damage' }, operator);
      assert.deepEqual(fakes.outbox.typesFor(ada.id), ['user.suspended', 'user.sessions_revoked']);
    });

    it('keeps sessions when revoking them fails during a suspension: nothing of it happened', async () => {
      await login();
      failOnCall(fakes.refreshTokens, 'revokeAllOfUser', 1, new Error('connection reset'));
      await assert.rejects(sut.suspendUser({ userId: ada.id, reason: 'unpaid damage' }, operator), /connection reset/);
      assert.equal((await fakes.users.findById(ada.id))?.status, 'active');
      assert.deepEqual(fakes.outbox.typesFor(ada.id), []);
    });

    it('keeps a refresh token usable when signing the new access token fails', async () => {
      const session = await login();
      failOnCall(fakes.accessTokens, 'sign', 1, new Error('signing keys are not loaded'));
      await assert.rejects(sut.refresh({ refreshToken: session.tokens.refreshToken }), /signing keys are not loaded/);
      // The client never saw a new token: retrying with the one it holds must not count as reuse.
      const retried = await sut.refresh({ refreshToken: session.tokens.refreshToken });
      await sut.refresh({ refreshToken: retried.tokens.refreshToken });
    });

    it('changes no plan when the update fails', async () => {
      failOnCall(fakes.users, 'update', 1, new Error('connection reset'));
      await assert.rejects(sut.setUserPlan({ userId: ada.id, plan: 'premium' }, operator), /connection reset/);
      assert.equal((await fakes.users.findById(ada.id))?.plan, 'free');
    });
  });
});
