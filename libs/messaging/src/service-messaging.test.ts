import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { UserRegistered, UserSuspended } from '@carshare/contracts';
import { FakeClock } from '@carshare/testing';
import { openSqlEngine, type SqlEngine } from '@carshare/storage';
import { sql } from 'kysely';
import { Registry } from 'prom-client';
import { eventually } from './event-bus.contract.ts';
import { createEventFactory } from './event-factory.ts';
import { InProcessEventBus } from './in-process-event-bus.ts';
import { migrateMessagingTables } from './messaging-tables.ts';
import { createServiceMessaging } from './service-messaging.ts';

// Two services in one process, as `carshare up` runs them: user emits, analytics consumes.
describe('createServiceMessaging (embedded wiring of two services)', () => {
  let engine: SqlEngine;
  const registry = new Registry();
  const bus = new InProcessEventBus({ registry });

  before(async () => {
    engine = await openSqlEngine({ dataDir: 'memory://' });
  });

  after(async () => {
    await bus.close();
    await engine.close();
  });

  it('carries an event from one service\'s outbox to another\'s idempotent consumer, and parks failures as replayable dead letters', async () => {
    const userDb = engine.forService('user_svc');
    const analyticsDb = engine.forService('analytics_svc');
    assert.deepEqual((await migrateMessagingTables(userDb)).applied, ['0001-outbox.sql', '0002-inbox.sql', '0003-dead-letter.sql', '0004-outbox-drop-claim-columns.sql']);
    assert.deepEqual((await migrateMessagingTables(userDb)).applied, [], 'a second run has nothing to do');
    const { rows: outboxColumns } = await sql<{ column_name: string }>`
      select column_name from information_schema.columns where table_schema = 'user_svc' and table_name = 'outbox' order by ordinal_position`.execute(userDb.db);
    assert.deepEqual(outboxColumns.map((row) => row.column_name), ['seq', 'event_id', 'event_type', 'subject', 'occurred_at', 'envelope', 'created_at', 'sent_at']);
    await migrateMessagingTables(analyticsDb);
    await sql`create table users (id uuid primary key, email text not null)`.execute(userDb.db);
    await sql`create table signups (user_id uuid primary key)`.execute(analyticsDb.db);

    const user = createServiceMessaging({ database: userDb, bus, concurrentRelays: false, registry });
    const analytics = createServiceMessaging({ database: analyticsDb, bus, concurrentRelays: false, registry });
    const events = createEventFactory({ source: 'user', clock: new FakeClock(), traceparent: () => `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` });
    let suspensionsFail = true;
    await analytics.subscribe('analytics.signups', ['user.*'], async (event, trx) => {
      if (UserRegistered.is(event)) {
        await sql`insert into signups (user_id) values (${event.data.userId}::uuid)`.execute(trx);
      } else if (UserSuspended.is(event) && suspensionsFail) {
        throw new Error('suspensions not supported yet');
      }
    }, { maxAttempts: 2, backoff: { initialMs: 5, maxMs: 5 } });
    user.start();

    const userId = '0190a4c2-1234-7abc-8def-0123456789ab';
    await userDb.transaction(async (trx) => {
      await sql`insert into users (id, email) values (${userId}::uuid, 'rider@example.com')`.execute(trx);
      await user.outbox.add(trx, events.create(UserRegistered, userId, { userId, email: 'rider@example.com', role: 'rider', plan: 'free' }));
    });
    await eventually('the signup to be counted', async () => (await sql`select 1 from signups`.execute(analyticsDb.db)).rows.length === 1, 30_000);

    await userDb.transaction(async (trx) => {
      await user.outbox.add(trx, events.create(UserSuspended, userId, { userId, reason: 'unpaid' }));
    });
    await eventually('the dead letter', async () => (await analytics.deadLetterAdmin.list()).items.length === 1, 30_000);
    const [letter] = (await analytics.deadLetterAdmin.list({ group: 'analytics.signups', topic: 'user.suspended' })).items;
    assert.ok(letter);
    assert.equal(letter.error.message, 'suspensions not supported yet');
    assert.equal(letter.traceparent, `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`);
    assert.match(await registry.getSingleMetricAsString('messaging_dead_letter_messages'), /messaging_dead_letter_messages\{group="analytics.signups"\} 1/);

    suspensionsFail = false;
    await analytics.deadLetterAdmin.replay(letter.id);
    await eventually('the replay to be handled', async () => analytics.inbox.has('analytics.signups', letter.event.id), 30_000);
    assert.deepEqual((await analytics.deadLetterAdmin.list()).items, []);
    await assert.rejects(analytics.deadLetterAdmin.get(letter.id), { reason: 'DEAD_LETTER_NOT_FOUND' });
    await assert.rejects(analytics.deadLetterAdmin.delete(letter.id), { reason: 'DEAD_LETTER_NOT_FOUND' });

    await user.stop();
    await analytics.stop();
  });

  it('forgets handled events once they are older than the inbox retention, and not before', async () => {
    const database = engine.forService('janitor_svc');
    await migrateMessagingTables(database);
    const handledAt = Date.parse('2026-03-01T08:00:00Z');
    await sql`insert into inbox (consumer_group, event_id, event_type, handled_at)
      values ('g', '0190a4c2-0000-7abc-8def-000000000001'::uuid, 'user.registered', ${new Date(handledAt)}),
             ('g', '0190a4c2-0000-7abc-8def-000000000002'::uuid, 'user.registered', ${new Date(handledAt + 1)})`.execute(database.db);
    const clock = new FakeClock(handledAt + 60_000 + 1);
    const messaging = createServiceMessaging({ database, bus, concurrentRelays: false, retainHandledMs: 60_000, relay: { clock } });
    await messaging.relay.runHousekeeping();
    assert.equal(await messaging.inbox.has('g', '0190a4c2-0000-7abc-8def-000000000001'), false, 'older than the retention');
    assert.equal(await messaging.inbox.has('g', '0190a4c2-0000-7abc-8def-000000000002'), true, 'exactly as old as the retention');
  });
});
