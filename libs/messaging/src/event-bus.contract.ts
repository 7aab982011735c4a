import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EventEnvelope } from '@carshare/contracts';
import { uuidV7Ids } from '@carshare/platform';
import { sql } from 'kysely';
import { DeadLetterAdmin } from './dead-letter-admin.ts';
import type { EventBus, EventHandler, SubscribeOptions } from './event-bus.ts';
import { Inbox } from './inbox.ts';
import { SqlDeadLetterStore } from './sql-dead-letter-store.ts';
import { openTestDatabase, type TestDatabase } from './test-database.ts';

export interface EventBusFixture {
  /**
   * Two handles on one bus: two processes (two connections to one broker) for RabbitMQ, the same
   * object twice in-process. Subscribing the same group on both makes two instances of it.
   */
  buses: [EventBus, EventBus];
  /** Bounds every wait; broker round trips need more than memory. */
  timeoutMs: number;
  /** Forget a group after the suite (RabbitMQ deletes its queues). */
  dropGroup(group: string): Promise<void>;
  close(): Promise<void>;
}

/** Polls until `condition` holds; fails naming `what` after `timeoutMs`. */
export async function eventually(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let sequence = 0;

export function contractEvent(subject: string, data: Record<string, unknown>, type = 'contract.happened'): EventEnvelope {
  sequence += 1;
  return {
    id: uuidV7Ids.next(),
    type,
    version: 1,
    occurredAt: new Date().toISOString(),
    source: 'contract-suite',
    subject,
    traceparent: `00-${'ab'.repeat(16)}-${sequence.toString(16).padStart(16, '0')}-01`,
    data,
  };
}

/** The behaviour every EventBus adapter must show; run by each adapter's test file. */
export function describeEventBusContract(name: string, openFixture: () => Promise<EventBusFixture>): void {
  describe(`EventBus contract: ${name}`, () => {
    let fixture: EventBusFixture;
    let testDb: TestDatabase;
    let deadLetters: SqlDeadLetterStore;
    const groups: string[] = [];
    const run = Math.floor(Math.random() * 1e6).toString(36);
    const group = (label: string): string => {
      const unique = `contract-${run}.${label}`;
      groups.push(unique);
      return unique;
    };
    const fast = (overrides: Partial<SubscribeOptions> = {}): SubscribeOptions => ({
      deadLetters,
      maxAttempts: 3,
      backoff: { initialMs: 10, maxMs: 40, jitter: 0 },
      ...overrides,
    });
    const wait = (what: string, condition: () => boolean | Promise<boolean>): Promise<void> => eventually(what, condition, fixture.timeoutMs);

    before(async () => {
      fixture = await openFixture();
      testDb = await openTestDatabase({ databaseUrl: process.env.DATABASE_URL });
      deadLetters = new SqlDeadLetterStore({ database: testDb.database });
      await sql`create table effect (event_id uuid primary key, applied integer not null)`.execute(testDb.database.db);
    });

    after(async () => {
      for (const name of groups) await fixture.dropGroup(name).catch(() => undefined);
      await fixture.close();
      await testDb.close();
    });

    it('delivers every event to every group, once each', async () => {
      const [bus] = fixture.buses;
      const seen = { billing: [] as string[], analytics: [] as string[] };
      const billing = await bus.subscribe(group('billing'), ['contract.*'], async (event) => void seen.billing.push(event.id), fast());
      const analytics = await bus.subscribe(group('analytics'), ['contract.#'], async (event) => void seen.analytics.push(event.id), fast());
      const events = Array.from({ length: 40 }, (_, index) => contractEvent(`subject-${index % 7}`, { index }));
      await bus.publish(events.slice(0, 10));
      for (const event of events.slice(10)) await bus.publish(event);
      await wait('both groups to receive all events', () => seen.billing.length >= 40 && seen.analytics.length >= 40);
      const ids = events.map((event) => event.id).sort();
      assert.deepEqual([...seen.billing].sort(), ids);
      assert.deepEqual([...seen.analytics].sort(), ids);
      await billing.close();
      await analytics.close();
    });

    it('routes only the topics a group subscribed to', async () => {
      const [bus] = fixture.buses;
      const seen: string[] = [];
      const subscription = await bus.subscribe(group('only-started'), ['contract.started'], async (event) => void seen.push(event.type), fast());
      await bus.publish([contractEvent('s', {}, 'contract.finished'), contractEvent('s', {}, 'contract.started'), contractEvent('s', {}, 'other.started')]);
      await bus.publish(contractEvent('s', { last: true }, 'contract.started'));
      await wait('the two contract.started events', () => seen.length >= 2);
      assert.deepEqual(seen, ['contract.started', 'contract.started']);
      await subscription.close();
    });

    it('shares the work of one group between its instances, each event handled once', async () => {
      const [first, second] = fixture.buses;
      const name = group('shared');
      const handledBy = new Map<string, string[]>();
      const handler =
        (instance: string): EventHandler =>
        async (event) => {
          handledBy.set(event.id, [...(handledBy.get(event.id) ?? []), instance]);
        };
      const one = await first.subscribe(name, ['contract.*'], handler('one'), fast());
      const two = await second.subscribe(name, ['contract.*'], handler('two'), fast());
      const published: string[] = [];
      const instancesUsed = (): Set<string> => new Set([...handledBy.values()].flat());
      for (let wave = 0; wave < 100 && instancesUsed().size < 2; wave += 1) {
        const events = Array.from({ length: 20 }, (_, index) => contractEvent(`car-${wave}-${index}`, { wave }));
        published.push(...events.map((event) => event.id));
        await first.publish(events);
        await wait('the wave to be handled', () => handledBy.size === published.length);
      }
      assert.equal(instancesUsed().size, 2, 'both instances handled events');
      assert.deepEqual([...handledBy.keys()].sort(), [...published].sort());
      for (const [id, instances] of handledBy) assert.equal(instances.length, 1, `event ${id} handled ${instances.length} times`);
      await one.close();
      await two.close();
    });

    it('retries a failing handler with backoff, then stores a dead letter with the error, attempts and trace context', async () => {
      const [bus] = fixture.buses;
      const name = group('always-fails');
      const attempts: number[] = [];
      const others: string[] = [];
      const poison = contractEvent('poison-subject', { fail: true });
      const subscription = await bus.subscribe(
        name,
        ['contract.*'],
        async (event, context) => {
          if (event.id !== poison.id) {
            others.push(event.id);
            return;
          }
          attempts.push(context.attempt);
          throw new Error(`refusing attempt ${context.attempt}`);
        },
        fast(),
      );
      await bus.publish([poison, contractEvent('healthy', { fail: false })]);
      await wait('the dead letter', async () => (await deadLetters.list({ group: name })).items.length === 1);
      const [letter] = (await deadLetters.list({ group: name })).items;
      assert.ok(letter);
      assert.deepEqual(attempts, [1, 2, 3]);
      assert.equal(letter.attempts, 3);
      assert.equal(letter.event.id, poison.id);
      assert.equal(letter.error.message, 'refusing attempt 3');
      assert.equal(letter.traceparent, poison.traceparent);
      assert.equal(others.length, 1, 'the healthy event was handled meanwhile');
      await subscription.close();
    });

    it('replays a dead letter to its own group only', async () => {
      const [bus] = fixture.buses;
      const fragile = group('fragile');
      const sturdy = group('sturdy');
      let healed = false;
      const fragileSeen: Array<{ id: string; attempt: number }> = [];
      const sturdySeen: string[] = [];
      const one = await bus.subscribe(
        fragile,
        ['contract.*'],
        async (event, context) => {
          fragileSeen.push({ id: event.id, attempt: context.attempt });
          if (!healed) throw new Error('not yet');
        },
        fast({ maxAttempts: 2 }),
      );
      const two = await bus.subscribe(sturdy, ['contract.*'], async (event) => void sturdySeen.push(event.id), fast());
      const event = contractEvent('replayed', {});
      await bus.publish(event);
      await wait('the dead letter', async () => (await deadLetters.list({ group: fragile })).items.length === 1);
      const [letter] = (await deadLetters.list({ group: fragile })).items;
      assert.ok(letter);
      healed = true;
      const admin = new DeadLetterAdmin({ store: deadLetters, bus });
      const replayed = await admin.replay(letter.id);
      assert.equal(replayed.event.id, event.id);
      await wait('the replayed delivery', () => fragileSeen.length === 3);
      assert.deepEqual(fragileSeen.at(-1), { id: event.id, attempt: 1 });
      assert.equal(await deadLetters.get(letter.id), undefined, 'the record is gone after a replay');
      // A marker published after the replay arrives after it, so sturdy has had its chance.
      await bus.publish(contractEvent('replayed', { marker: true }));
      await wait('the marker in sturdy', () => sturdySeen.length === 2);
      assert.deepEqual(sturdySeen.filter((id) => id === event.id), [event.id], 'the other group did not get it again');
      await one.close();
      await two.close();
    });

    it('skips a duplicate delivery through the inbox, applying the effect once', async () => {
      const [bus] = fixture.buses;
      const inbox = new Inbox({ database: testDb.database });
      const duplicates: string[] = [];
      const subscription = await bus.subscribe(
        group('idempotent'),
        ['contract.*'],
        inbox.handler(
          async (event, trx) => {
            await sql`insert into effect (event_id, applied) values (${event.id}::uuid, 1)
                      on conflict (event_id) do update set applied = effect.applied + 1`.execute(trx);
          },
          { onDuplicate: (event) => duplicates.push(event.id) },
        ),
        fast(),
      );
      const event = contractEvent('twice', {});
      await bus.publish(event);
      await bus.publish(event);
      await wait('the duplicate to be skipped', () => duplicates.length === 1);
      const { rows } = await sql<{ applied: number }>`select applied from effect where event_id = ${event.id}::uuid`.execute(testDb.database.db);
      assert.deepEqual(rows, [{ applied: 1 }]);
      assert.deepEqual(duplicates, [event.id]);
      await subscription.close();
    });

    it('hands the events of one subject to a group one at a time, in publish order, across instances', async () => {
      const [first, second] = fixture.buses;
      const name = group('ordered');
      const subjects = Array.from({ length: 8 }, (_, index) => `car-${index}`);
      const perSubject = 25;
      const handled = new Map<string, number[]>(subjects.map((subject) => [subject, []]));
      const inProgress = new Set<string>();
      const overlaps: string[] = [];
      const handler: EventHandler = async (event) => {
        if (inProgress.has(event.subject)) overlaps.push(event.subject);
        inProgress.add(event.subject);
        await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 3)));
        handled.get(event.subject)?.push((event.data as { n: number }).n);
        inProgress.delete(event.subject);
      };
      const one = await first.subscribe(name, ['contract.*'], handler, fast({ concurrency: 8 }));
      const two = await second.subscribe(name, ['contract.*'], handler, fast({ concurrency: 8 }));
      for (let n = 0; n < perSubject; n += 1) {
        await first.publish(subjects.map((subject) => contractEvent(subject, { n })));
      }
      await wait('every event', () => [...handled.values()].every((list) => list.length >= perSubject));
      const expected = Array.from({ length: perSubject }, (_, n) => n);
      for (const [subject, list] of handled) assert.deepEqual(list, expected, `order of ${subject}`);
      assert.deepEqual(overlaps, [], 'no subject was handled twice at once');
      await one.close();
      await two.close();
    });

    it('keeps events published while a group has no instance attached, for its next instance', async () => {
      const [bus] = fixture.buses;
      const name = group('comes-back');
      const first = await bus.subscribe(name, ['contract.*'], async () => {}, fast());
      await first.close();
      const event = contractEvent('later', {});
      await bus.publish(event);
      const seen: string[] = [];
      const second = await bus.subscribe(name, ['contract.*'], async (delivered) => void seen.push(delivered.id), fast());
      await wait('the event published in between', () => seen.includes(event.id));
      await second.close();
    });

    it('keeps an event published before any group subscribed to its type, for the group created afterwards', async () => {
      const [bus] = fixture.buses;
      const early = contractEvent('orphan', { early: true }, 'other.orphaned');
      await bus.publish(early);
      const seen: string[] = [];
      const later = await bus.subscribe(group('late-comer'), ['other.orphaned'], async (event) => void seen.push(event.id), fast());
      await wait('the event published before the group existed', () => seen.includes(early.id));
      const next = contractEvent('orphan', {}, 'other.orphaned');
      await bus.publish(next);
      await wait('the next one', () => seen.includes(next.id));
      assert.deepEqual(seen, [early.id, next.id], 'each once, in order');
      await later.close();
    });

    it('broadcasts every matching event to every broadcast subscriber, in publish order, beside the groups', async () => {
      const [one, two] = fixture.buses;
      const seen = { first: [] as string[], second: [] as string[], group: [] as string[] };
      const first = await one.subscribeBroadcast(['contract.*'], (event) => void seen.first.push(event.id));
      const second = await two.subscribeBroadcast(['contract.happened', 'other.*'], async (event) => void seen.second.push(event.id));
      const shared = await one.subscribe(group('beside-broadcast'), ['contract.*'], async (event) => void seen.group.push(event.id), fast());
      const events = Array.from({ length: 30 }, (_, index) => contractEvent(`subject-${index % 5}`, { index }));
      const elsewhere = contractEvent('x', {}, 'unrelated.happened');
      await one.publish(events.slice(0, 10));
      await one.publish(elsewhere);
      for (const event of events.slice(10)) await one.publish(event);
      const ids = events.map((event) => event.id);
      await wait('both broadcast subscribers and the group to see all events', () => seen.first.length >= 30 && seen.second.length >= 30 && seen.group.length >= 30);
      assert.deepEqual(seen.first, ids, 'every event, in publish order, to the first subscriber');
      assert.deepEqual(seen.second, ids, 'and to the second');
      assert.deepEqual([...seen.group].sort(), [...ids].sort(), 'the group still gets each event once');
      await first.close();
      const late = contractEvent('after-close', {});
      await one.publish(late);
      await wait('the second subscriber to see the late event', () => seen.second.includes(late.id));
      assert.ok(!seen.first.includes(late.id), 'a closed broadcast subscription receives nothing more');
      await second.close();
      await shared.close();
    });

    it('drops an event whose broadcast handler throws, and carries on (at most once)', async () => {
      const [bus] = fixture.buses;
      const calls: string[] = [];
      const events = [contractEvent('a', {}), contractEvent('b', {}), contractEvent('c', {})];
      const failing = events[1]?.id;
      const subscription = await bus.subscribeBroadcast(['contract.*'], (event) => {
        calls.push(event.id);
        if (event.id === failing) throw new Error('cache write failed');
      });
      await bus.publish(events);
      await wait('all three calls', () => calls.length >= 3);
      assert.deepEqual(calls, events.map((event) => event.id), 'the failed event is not retried');
      await subscription.close();
    });

    it('queues nothing for a broadcast subscriber before it subscribes', async () => {
      const [bus] = fixture.buses;
      const before = contractEvent('early', {});
      await bus.publish(before);
      const seen: string[] = [];
      const subscription = await bus.subscribeBroadcast(['contract.*'], (event) => void seen.push(event.id));
      const after = contractEvent('late', {});
      await bus.publish(after);
      await wait('the event published after subscribing', () => seen.includes(after.id));
      assert.deepEqual(seen, [after.id]);
      await subscription.close();
    });
  });
}
