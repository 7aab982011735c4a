import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createObservability } from '@carshare/observability';
import { AppError, createAccessTokenVerifier, uuidV7Ids, type Caller } from '@carshare/platform';
import type { EventEnvelope } from '@carshare/contracts';
import { InProcessEventBus, MemoryDeadLetterStore, Outbox } from '@carshare/messaging';
import { openSqlEngine, type ServiceDatabase, type SqlEngine } from '@carshare/storage';
import { FakeClock } from '@carshare/testing';
import { sql, type Kysely } from 'kysely';
import { describeAttemptCountStoreContract } from './adapters/attempt-count-store.contract.ts';
import { describeRefreshTokenStoreContract } from './adapters/refresh-token-store.contract.ts';
import { SqlAttemptCountStore } from './adapters/sql-attempt-count-store.ts';
import { SqlRefreshTokenStore } from './adapters/sql-refresh-token-store.ts';
import { SqlUnitOfWork } from './adapters/sql-unit-of-work.ts';
import type { UserDatabase } from './adapters/user-database.ts';
import { describeUserStoreContract } from './adapters/user-store.contract.ts';
import { loadUserConfig } from './config.ts';
import { createUserModule, userMigrationsDir, type UserModule } from './module.ts';
import { FakePasswordHasher } from './testing/fake-password-hasher.ts';
import { aUserRecord } from './testing/user-factories.ts';

function rejectsWith(reason: string) {
  return (error: unknown) => {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.reason, reason);
    return true;
  };
}

// Everything of the user service that needs SQL, in one file so PGlite starts once (seconds).
// The use cases where SQL is the point: the unique index, keyset pages and literal search, races
// decided by conditional updates, the outbox relay, the read cache, real signing keys. The rules
// themselves run on in-memory fakes in user-service.test.ts; hashing is argon2's own test.
let engine: SqlEngine;

before(async () => {
  engine = await openSqlEngine({ dataDir: 'memory://' });
});

after(async () => {
  await engine.close();
});

describe('user service on PGlite', () => {
  /** Sign-up answers the same for every address; the session comes from logging in. */
  const signUp = async (input: { email: string; password: string; displayName: string }) => {
    await module.users.register(input);
    return module.users.login(input);
  };
  const clock = new FakeClock('2026-03-01T08:00:00Z');
  let bus: InProcessEventBus;
  let module: UserModule;
  let operator: Caller;
  let admin: Caller;
  const published: EventEnvelope[] = [];

  async function eventsFor(subject: string, count: number): Promise<EventEnvelope[]> {
    const until = Date.now() + 5_000;
    for (;;) {
      const found = published.filter((event) => event.subject === subject);
      if (found.length >= count || Date.now() > until) return found;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  before(async () => {
    bus = new InProcessEventBus();
    module = createUserModule({
      config: loadUserConfig({ 'log.level': 'silent' }),
      observability: createObservability({ service: 'user', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false }),
      database: engine.forService('user'),
      bus,
      concurrentRelays: false,
      clock,
      passwords: new FakePasswordHasher(),
    });
    await bus.subscribe('test.user-events', ['user.*'], async (event) => {
      published.push(event);
    }, { deadLetters: new MemoryDeadLetterStore() });
    await module.start();
    const operatorUser = await module.users.createAccount({ email: 'op@example.com', password: 'operator-pass-1', displayName: 'Op', role: 'operator', plan: 'unlimited' });
    const adminUser = await module.users.createAccount({ email: 'root@example.com', password: 'admin-pass-123', displayName: 'Root', role: 'admin', plan: 'unlimited' });
    operator = { userId: operatorUser.id, role: 'operator', plan: 'unlimited', token: '' };
    admin = { userId: adminUser.id, role: 'admin', plan: 'unlimited', token: '' };
  });

  after(async () => {
    await module.close();
    await bus.close();
  });

  it('registers an unverified rider with a normalised email, who logs in with a token that verifies and names its session', async () => {
    await signUp({ email: ' Ada@Example.com ', password: 'correct horse battery', displayName: 'Ada' });
    const session = await module.users.login({ email: 'ada@example.com', password: 'correct horse battery' });
    assert.equal(session.user.emailVerified, false);
    assert.equal(session.user.email, 'ada@example.com');
    assert.equal(session.user.role, 'rider');
    assert.equal(session.user.plan, 'free');
    assert.equal(session.tokens.expiresIn, 900);
    const verifier = createAccessTokenVerifier({ keys: module.signer.keyLookup, clock });
    const caller = await verifier.verify(session.tokens.accessToken);
    assert.deepEqual({ userId: caller.userId, role: caller.role }, { userId: session.user.id, role: 'rider' });
    assert.ok(caller.sessionId, 'the token carries a sid claim');
  });

  it('publishes user.registered through the outbox, with the caller’s trace', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await module.users.register({ email: 'evented@example.com', password: 'plum tractor 42', displayName: 'Ev' }, { traceparent });
    const session = await module.users.login({ email: 'evented@example.com', password: 'plum tractor 42' });
    const [event] = await eventsFor(session.user.id, 1);
    assert.ok(event, 'user.registered was not published');
    assert.equal(event.type, 'user.registered');
    assert.equal(event.source, 'user');
    assert.equal(event.traceparent, traceparent);
    assert.deepEqual(event.data, { userId: session.user.id, email: 'evented@example.com', role: 'rider', plan: 'free' });
  });

  it('answers a second sign-up with the same email in any letter case like a first one, creates and publishes nothing, and mails the owner', async () => {
    const before = published.filter((event) => event.type === 'user.registered').length;
    const fresh = await module.users.register({ email: 'someone-new@example.com', password: 'another password', displayName: 'New' });
    const taken = await module.users.register({ email: 'ADA@example.com', password: 'another password', displayName: 'Imposter' });
    assert.deepEqual(taken, fresh);
    const [warning] = await module.mailOutbox.list({ limit: 1, recipient: 'ada@example.com' });
    assert.match(warning?.subject ?? '', /tried to sign up/);
    await module.messaging.relay.relayOnce();
    assert.equal(published.filter((event) => event.type === 'user.registered').length, before + 1);
    assert.equal(await module.messaging.relay.pending(), 0);
  });

  it('lets only one of two racing refreshes of one token win', async () => {
    const session = await module.users.login({ email: 'ada@example.com', password: 'correct horse battery' });
    const results = await Promise.allSettled([
      module.users.refresh({ refreshToken: session.tokens.refreshToken }),
      module.users.refresh({ refreshToken: session.tokens.refreshToken }),
    ]);
    assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
  });

  it('pages through every user exactly once, newest first, with filters and literal search', async () => {
    for (let index = 0; index < 7; index += 1) {
      await module.users.createAccount({ email: `page${index}@fleet.test`, password: 'page password', displayName: `Pager_${index}`, role: 'rider', plan: 'free' });
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await module.users.listUsers({ limit: 3, ...(cursor && { cursor }) }, operator);
      seen.push(...page.items.map((user) => user.email));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    assert.equal(new Set(seen).size, seen.length);
    assert.ok(seen.includes('page0@fleet.test') && seen.includes('op@example.com'));
    assert.ok(seen.indexOf('page6@fleet.test') < seen.indexOf('page0@fleet.test'), 'newest first');
    const found = await module.users.listUsers({ limit: 20, search: 'FLEET.test' }, operator);
    assert.equal(found.items.length, 7);
    assert.equal((await module.users.listUsers({ limit: 20, search: 'Pager_3' }, operator)).items.length, 1);
    assert.equal((await module.users.listUsers({ limit: 20, search: '%' }, operator)).items.length, 0, '% is a literal');
    const staff = await module.users.listUsers({ limit: 20, role: 'operator' }, operator);
    assert.deepEqual(staff.items.map((user) => user.email), ['op@example.com']);
    await assert.rejects(module.users.listUsers({ limit: 3, cursor: 'not-a-cursor' }, operator), rejectsWith('INVALID_CURSOR'));
  });

  it('suspends: login and refresh are refused until reactivated', async () => {
    const carol = await signUp({ email: 'carol@example.com', password: 'plum tractor 42', displayName: 'Carol' });
    const suspended = await module.users.suspendUser({ userId: carol.user.id, reason: 'unpaid damage' }, operator);
    assert.equal(suspended.status, 'suspended');
    assert.equal(suspended.suspendedReason, 'unpaid damage');
    await assert.rejects(module.users.login({ email: 'carol@example.com', password: 'plum tractor 42' }), rejectsWith('USER_SUSPENDED'));
    await assert.rejects(module.users.refresh({ refreshToken: carol.tokens.refreshToken }), rejectsWith('INVALID_REFRESH_TOKEN'));
    assert.equal((await module.users.listUsers({ limit: 50, status: 'suspended' }, operator)).items.length, 1);
    const back = await module.users.reactivateUser({ userId: carol.user.id }, operator);
    assert.equal(back.status, 'active');
    const carolEvents = await eventsFor(carol.user.id, 4);
    assert.deepEqual(carolEvents.map((event) => event.type), ['user.registered', 'user.suspended', 'user.sessions_revoked', 'user.reactivated']);
    assert.deepEqual(carolEvents[1]?.data, { userId: carol.user.id, reason: 'unpaid damage' });
    assert.equal(back.suspendedReason, undefined);
    await module.users.login({ email: 'carol@example.com', password: 'plum tractor 42' });
  });

  it('publishes one user.suspended (and one revocation) when two operators suspend the same user at once', async () => {
    const frank = await signUp({ email: 'frank@example.com', password: 'plum tractor 42', displayName: 'Frank' });
    const results = await Promise.all([
      module.users.suspendUser({ userId: frank.user.id, reason: 'first' }, operator),
      module.users.suspendUser({ userId: frank.user.id, reason: 'second' }, admin),
    ]);
    assert.deepEqual(results.map((user) => user.status), ['suspended', 'suspended']);
    const { rows } = await sql<{ event_type: string }>`select event_type from outbox where subject = ${frank.user.id} order by event_type`.execute(engine.forService('user').db);
    assert.deepEqual(rows.map((row) => row.event_type), ['user.registered', 'user.sessions_revoked', 'user.suspended']);
  });

  it('shows suspensions, reactivations, role and plan changes to the next GetUser, cache or not', async () => {
    const erin = await signUp({ email: 'erin@example.com', password: 'plum tractor 42', displayName: 'Erin' });
    const read = () => module.users.getUser({ userId: erin.user.id }, operator);
    assert.equal((await read()).status, 'active');
    await module.users.suspendUser({ userId: erin.user.id, reason: 'lost keys' }, operator);
    assert.equal((await read()).status, 'suspended');
    await module.users.reactivateUser({ userId: erin.user.id }, operator);
    assert.equal((await read()).status, 'active');
    await module.users.setUserPlan({ userId: erin.user.id, plan: 'premium' }, operator);
    assert.equal((await read()).plan, 'premium');
    await module.users.setUserRole({ userId: erin.user.id, role: 'operator' }, admin);
    assert.equal((await read()).role, 'operator');
  });

  it('keeps tokens signed by a rotated key valid until they expire', async () => {
    const before = await module.users.login({ email: 'ada@example.com', password: 'correct horse battery' });
    await module.signer.rotate();
    const verifier = createAccessTokenVerifier({ keys: module.signer.keyLookup, clock });
    await verifier.verify(before.tokens.accessToken);
    const afterRotation = await module.users.login({ email: 'ada@example.com', password: 'correct horse battery' });
    const oldKid = JSON.parse(Buffer.from(before.tokens.accessToken.split('.')[0] as string, 'base64url').toString()).kid;
    const newKid = JSON.parse(Buffer.from(afterRotation.tokens.accessToken.split('.')[0] as string, 'base64url').toString()).kid;
    assert.notEqual(oldKid, newKid);
    const published = (await module.signer.jwks()).keys.map((key) => key.kid);
    assert.ok(published.includes(oldKid) && published.includes(newKid));
  });
});

// The SQL stores under the contract their in-memory fakes keep too (memory runs:
// adapters/user-stores.test.ts); on PostgreSQL as well when DATABASE_URL is set.
let contractSchemas = 0;

async function freshUserSchema(target: SqlEngine): Promise<{ database: ServiceDatabase<UserDatabase>; drop: () => Promise<void> }> {
  const schema = `user_contract_${process.pid}_${++contractSchemas}`;
  const database = target.forService<UserDatabase>(schema);
  await database.migrate(userMigrationsDir);
  return { database, drop: () => sql`drop schema if exists ${sql.id(schema)} cascade`.execute(database.db).then(() => undefined) };
}

const contractTargets: Array<[name: string, open: () => Promise<{ engine: SqlEngine; close(): Promise<void> }>]> = [
  ['SQL on PGlite', async () => ({ engine, close: async () => {} })],
];
const databaseUrl = process.env.DATABASE_URL;
if (databaseUrl) {
  contractTargets.push([
    'SQL on PostgreSQL',
    async () => {
      const postgres = await openSqlEngine({ databaseUrl, dataDir: 'memory://' });
      return { engine: postgres, close: () => postgres.close() };
    },
  ]);
}

for (const [name, open] of contractTargets) {
  describeAttemptCountStoreContract(name, async () => {
    const target = await open();
    const { database, drop } = await freshUserSchema(target.engine);
    return {
      store: new SqlAttemptCountStore(database.db),
      close: async () => {
        await drop();
        await target.close();
      },
    };
  });

  describe(`attempt counts are pruned past every rule's memory (${name})`, () => {
    it('deletes only counts whose last failure is older than the cut-off', async () => {
      const target = await open();
      const { database, drop } = await freshUserSchema(target.engine);
      try {
        const store = new SqlAttemptCountStore(database.db);
        await store.compareAndSet('old', undefined, { failures: 4, lastFailureAt: 1_000 });
        await store.compareAndSet('recent', undefined, { failures: 1, lastFailureAt: 5_000 });
        assert.equal(await store.prune(5_000), 1);
        assert.deepEqual([...(await store.find(['old', 'recent'])).keys()], ['recent']);
      } finally {
        await drop();
        await target.close();
      }
    });
  });

  describeUserStoreContract(name, async () => {
    const target = await open();
    const { database, drop } = await freshUserSchema(target.engine);
    const unitOfWork = new SqlUnitOfWork(database, new Outbox(), { ids: uuidV7Ids, now: () => Date.now() });
    return {
      inTransaction: (work) => unitOfWork.run((tx) => work(tx.users)),
      close: async () => {
        await drop();
        await target.close();
      },
    };
  });

  describeRefreshTokenStoreContract(name, async () => {
    const target = await open();
    const { database, drop } = await freshUserSchema(target.engine);
    const owners = [aUserRecord(), aUserRecord()] as const;
    await new SqlUnitOfWork(database, new Outbox(), { ids: uuidV7Ids, now: () => Date.now() }).run(async (tx) => {
      for (const owner of owners) await tx.users.insert(owner);
    });
    const store = new SqlRefreshTokenStore(database.db, (work) => database.transaction((trx) => work(trx as unknown as Kysely<UserDatabase>)));
    return {
      store,
      userIds: [owners[0].id, owners[1].id],
      close: async () => {
        await drop();
        await target.close();
      },
    };
  });
}
