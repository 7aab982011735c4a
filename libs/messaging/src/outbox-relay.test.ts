import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EventEnvelope } from '@carshare/contracts';
import { FakeClock } from '@carshare/testing';
import { sql, type KyselyPlugin } from 'kysely';
import { Registry } from 'prom-client';
import { contractEvent, eventually } from './event-bus.contract.ts';
import { eventList, type EventBus } from './event-bus.ts';
import { Outbox } from './outbox.ts';
import { OutboxRelay } from './outbox-relay.ts';
import type { Scheduler } from '@carshare/platform';
import { openTestDatabase, type TestDatabase } from './test-database.ts';

/** A bus that records what it is given; `failNext` makes the next publish throw. */
class RecordingBus implements Pick<EventBus, 'publish'> {
  readonly published: EventEnvelope[] = [];
  failNext = 0;
  delayMs = 0;

  async publish(events: EventEnvelope | readonly EventEnvelope[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('broker says no');
    }
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    this.published.push(...eventList(events));
  }
}

const engines: Array<{ kind: string; databaseUrl?: string }> = [{ kind: 'PGlite' }];
if (process.env.DATABASE_URL) engines.push({ kind: 'PostgreSQL', databaseUrl: process.env.DATABASE_URL });

for (const engine of engines) {
  describe(`OutboxRelay on ${engine.kind}`, () => {
    let testDb: TestDatabase;
    const concurrentRelays = engine.kind === 'PostgreSQL';

    before(async () => {
      testDb = await openTestDatabase({ databaseUrl: engine.databaseUrl });
      await sql`create table ride (id serial primary key, subject text not null)`.execute(testDb.database.db);
    });

    after(async () => {
      await testDb.close();
    });

    async function clearOutbox(): Promise<void> {
      await sql`delete from outbox`.execute(testDb.database.db);
    }

    /** One state change and its event, committed together. */
    async function change(outbox: Outbox, event: EventEnvelope): Promise<void> {
      await testDb.database.transaction(async (trx) => {
        await sql`insert into ride (subject) values (${event.subject})`.execute(trx);
        await outbox.add(trx, event);
      });
    }

    it('publishes committed events in sequence order and marks them sent', async () => {
      await clearOutbox();
      const outbox = new Outbox();
      const bus = new RecordingBus();
      const relay = new OutboxRelay({ database: testDb.database, bus, concurrentRelays, batchSize: 7 });
      const events = Array.from({ length: 20 }, (_, index) => contractEvent(`ride-${index % 3}`, { index }));
      for (const event of events) await change(outbox, event);
      assert.equal(await relay.pending(), 20);
      let published = 0;
      for (let round = 0; round < 10; round += 1) published += await relay.relayOnce();
      assert.equal(published, 20);
      assert.deepEqual(
        bus.published.map((event) => event.id),
        events.map((event) => event.id),
      );
      assert.equal(await relay.pending(), 0);
      assert.equal(await relay.relayOnce(), 0, 'nothing is published twice');
    });

    it('publishes nothing for a transaction that rolled back', async () => {
      await clearOutbox();
      const outbox = new Outbox();
      const bus = new RecordingBus();
      const relay = new OutboxRelay({ database: testDb.database, bus, concurrentRelays });
      await assert.rejects(
        testDb.database.transaction(async (trx) => {
          await outbox.add(trx, contractEvent('ghost', {}));
          throw new Error('use case failed');
        }),
        /use case failed/,
      );
      assert.equal(await relay.relayOnce(), 0);
      assert.deepEqual(bus.published, []);
    });

    it('keeps events whose publish failed and publishes them on the next round', async () => {
      await clearOutbox();
      const outbox = new Outbox();
      const bus = new RecordingBus();
      const relay = new OutboxRelay({ database: testDb.database, bus, concurrentRelays });
      const event = contractEvent('retry-me', {});
      await change(outbox, event);
      bus.failNext = 1;
      await assert.rejects(relay.relayOnce(), /broker says no/);
      assert.equal(await relay.pending(), 1);
      assert.equal(await relay.relayOnce(), 1);
      assert.deepEqual(
        bus.published.map((published) => published.id),
        [event.id],
      );
    });

    it('wakes up when the outbox is written instead of waiting for its next poll', async () => {
      await clearOutbox();
      const outbox = new Outbox();
      const bus = new RecordingBus();
      // Long sleeps never end on their own here: only a wake-up can move the relay on.
      const parked: number[] = [];
      const scheduler: Scheduler = {
        setTimeout: (callback, ms) => (ms >= 1000 ? void parked.push(ms) : setTimeout(callback, ms)),
        clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
      };
      const relay = new OutboxRelay({ database: testDb.database, bus, outbox, concurrentRelays, idlePollMs: 600_000, scheduler });
      relay.start();
      try {
        await eventually('the relay to fall asleep', () => parked.length === 1, 20_000);
        await change(outbox, contractEvent('prompt', {}));
        await eventually('the event to be published', () => bus.published.length === 1, 20_000);
        await eventually('the relay to fall asleep again', () => parked.length === 2, 20_000);
        await change(outbox, contractEvent('prompt', {}));
        await eventually('the second event to be published', () => bus.published.length === 2, 20_000);
      } finally {
        await relay.stop();
      }
    });

    if (!concurrentRelays) {
      it('polls once per wake-up on one session, with no hot polling after it', async () => {
        await clearOutbox();
        const outbox = new Outbox();
        const bus = new RecordingBus();
        const sleeps: number[] = [];
        const parked: number[] = [];
        const scheduler: Scheduler = {
          setTimeout: (callback, ms) => {
            sleeps.push(ms);
            return ms >= 1000 ? void parked.push(ms) : setTimeout(callback, ms);
          },
          clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
        };
        const relay = new OutboxRelay({ database: testDb.database, bus, outbox, concurrentRelays, idlePollMs: 600_000, scheduler });
        relay.start();
        try {
          await eventually('the relay to fall asleep', () => parked.length === 1, 20_000);
          // Both events of one transaction: the wake-up comes before the commit, the poll after it.
          await testDb.database.transaction(async (trx) => {
            await outbox.add(trx, contractEvent('first', {}));
            await outbox.add(trx, contractEvent('second', {}));
          });
          await eventually('the events to be published', () => bus.published.length === 2, 20_000);
          await eventually('the relay to fall asleep again', () => parked.length === 2, 20_000);
          assert.deepEqual(sleeps, [600_000, 600_000], 'no short sleeps: nothing polls between wake-ups');
        } finally {
          await relay.stop();
        }
      });
    }

    if (!concurrentRelays) {
      /** The rows the database itself still holds unsent, whatever the relay remembers. */
      async function unsentRows(): Promise<number> {
        const { rows } = await sql<{ count: number }>`select count(*)::int as count from outbox where sent_at is null`.execute(testDb.database.db);
        return Number(rows[0]?.count);
      }

      it('marks a batch sent in the next poll, one statement per batch, and on stop', async () => {
        await clearOutbox();
        const outbox = new Outbox();
        const bus = new RecordingBus();
        let statements = 0;
        const counting: KyselyPlugin = {
          transformQuery: (args) => args.node,
          transformResult: async (args) => {
            statements += 1;
            return args.result;
          },
        };
        const database = { ...testDb.database, db: testDb.database.db.withPlugin(counting) };
        const relay = new OutboxRelay({ database, bus, concurrentRelays, batchSize: 7 });
        const events = Array.from({ length: 20 }, (_, index) => contractEvent(`fold-${index % 3}`, { index }));
        for (const event of events) await change(outbox, event);
        const polls = [await relay.relayOnce(), await relay.relayOnce(), await relay.relayOnce(), await relay.relayOnce()];
        assert.deepEqual(polls, [7, 7, 6, 0]);
        assert.equal(statements, 4, 'each poll one statement: the previous batch is marked by it, not apart');
        assert.equal(await unsentRows(), 0, 'the empty poll marked the last batch');
        assert.equal(await relay.relayOnce(), 0, 'nothing is published twice');
        assert.deepEqual(
          bus.published.map((event) => event.id),
          events.map((event) => event.id),
        );

        // The last batch's mark waits for a poll: pending() counts it out, stop() writes it.
        statements = 0;
        const more = [contractEvent('fold-0', { index: 20 }), contractEvent('fold-1', { index: 21 })];
        for (const event of more) await change(outbox, event);
        assert.equal(await relay.relayOnce(), 2);
        assert.equal(await relay.pending(), 0, 'published rows are not pending');
        relay.start();
        await relay.stop();
        assert.equal(await unsentRows(), 0, 'a clean stop marks what the bus has');
        assert.equal(bus.published.length, 22);
      });

      it('publishes an accepted but unmarked batch again after a crash, in order, before what follows', async () => {
        await clearOutbox();
        const outbox = new Outbox();
        const events = Array.from({ length: 6 }, (_, index) => contractEvent('crashing', { index }));
        for (const event of events) await change(outbox, event);
        const dying = new RecordingBus();
        const crashed = new OutboxRelay({ database: testDb.database, bus: dying, concurrentRelays, batchSize: 2 });
        assert.equal(await crashed.relayOnce(), 2);
        assert.equal(await crashed.relayOnce(), 2);
        // `crashed` dies here: its second batch is accepted by the bus and not marked.
        const bus = new RecordingBus();
        const successor = new OutboxRelay({ database: testDb.database, bus, concurrentRelays, batchSize: 10 });
        assert.equal(await successor.relayOnce(), 4);
        assert.deepEqual(
          bus.published.map((event) => (event.data as { index: number }).index),
          [2, 3, 4, 5],
          'the unmarked batch again (a duplicate for the inbox), then the rest, nothing lost',
        );
        assert.equal(await successor.relayOnce(), 0);
        assert.equal(await unsentRows(), 0);
      });
    }

    it('reports pending rows and publish lag as metrics', async () => {
      await clearOutbox();
      const clock = new FakeClock('2026-03-01T10:00:00.000Z');
      const registry = new Registry();
      const outbox = new Outbox();
      const bus = new RecordingBus();
      const relay = new OutboxRelay({ database: testDb.database, bus, concurrentRelays, registry, clock });
      await change(outbox, { ...contractEvent('lagging', {}), occurredAt: new Date(clock.now()).toISOString() });
      const before = await registry.getSingleMetricAsString('messaging_outbox_pending_messages');
      assert.match(before, new RegExp(`messaging_outbox_pending_messages\\{schema="${testDb.database.schema}"\\} 1`));
      clock.advance(150);
      await relay.relayOnce();
      const lag = await registry.getSingleMetricAsString('messaging_outbox_relay_lag_seconds');
      assert.match(lag, /messaging_outbox_relay_lag_seconds_bucket\{le="0.1",schema="[^"]+"\} 0/);
      assert.match(lag, /messaging_outbox_relay_lag_seconds_bucket\{le="0.2",schema="[^"]+"\} 1/);
      assert.match(await registry.getSingleMetricAsString('messaging_outbox_pending_messages'), / 0$/m);
      await relay.stop();
    });

    it('deletes sent rows once they are older than the retention', async () => {
      await clearOutbox();
      const clock = new FakeClock();
      const outbox = new Outbox();
      const relay = new OutboxRelay({ database: testDb.database, bus: new RecordingBus(), concurrentRelays, clock, retainSentMs: 60_000 });
      await change(outbox, contractEvent('old', {}));
      await relay.relayOnce();
      assert.equal(await relay.purgeSent(), 0);
      clock.advance(60_001);
      assert.equal(await relay.purgeSent(), 1);
    });

    if (concurrentRelays) {
      it('picks up new events while an earlier batch waits for the broker, and keeps each subject in order', async () => {
        await clearOutbox();
        const outbox = new Outbox();
        const published: EventEnvelope[] = [];
        let release: () => void = () => {};
        const held = new Promise<void>((resolve) => {
          release = resolve;
        });
        let holding = true;
        // The first publish stands for a broker confirm that is slow to come.
        const bus: Pick<EventBus, 'publish'> = {
          async publish(events) {
            const list = eventList(events);
            if (holding && list.some((event) => event.subject === 'slow-confirm')) {
              holding = false;
              await held;
            }
            published.push(...list);
          },
        };
        const relay = new OutboxRelay({ database: testDb.database, bus, outbox, concurrentRelays });
        const first = contractEvent('slow-confirm', { n: 0 });
        const second = contractEvent('slow-confirm', { n: 1 });
        const other = contractEvent('unrelated', {});
        relay.start();
        try {
          await change(outbox, first);
          await eventually('the first batch to reach the broker', () => !holding, 20_000);
          await change(outbox, second);
          await change(outbox, other);
          // `other` was committed after `second`, so the claim that took it saw `second` too and
          // had to leave it: its subject's earlier event is still unconfirmed in the first batch.
          await eventually('an unrelated event to go out while the first batch is unconfirmed', () => published.length === 1, 20_000);
          assert.deepEqual(
            published.map((event) => event.id),
            [other.id],
          );
          release();
          await eventually('the held subject to follow', () => published.length === 3, 20_000);
          assert.deepEqual(
            published.map((event) => event.id),
            [other.id, first.id, second.id],
          );
          // The bus has the last event before its batch commits the mark.
          await eventually('every row to be marked sent', async () => (await relay.pending()) === 0, 20_000);
        } finally {
          release();
          await relay.stop();
        }
      });

      it('lets two relays share the table without reordering the events of a subject', async () => {
        await clearOutbox();
        const outbox = new Outbox();
        const stream: Array<{ relay: string; event: EventEnvelope }> = [];
        const recording = (relay: string): Pick<EventBus, 'publish'> => ({
          async publish(events) {
            await new Promise((resolve) => setTimeout(resolve, 5));
            for (const event of eventList(events)) stream.push({ relay, event });
          },
        });
        const subjects = Array.from({ length: 100 }, (_, index) => `shared-${index}`);
        for (let n = 0; n < 8; n += 1) {
          await testDb.database.transaction(async (trx) => {
            await outbox.add(
              trx,
              subjects.map((subject) => contractEvent(subject, { n })),
            );
          });
        }
        const first = new OutboxRelay({ database: testDb.database, bus: recording('first'), concurrentRelays, batchSize: 25 });
        const second = new OutboxRelay({ database: testDb.database, bus: recording('second'), concurrentRelays, batchSize: 25 });
        // A relay finding only subjects the other holds publishes nothing that round.
        const drain = async (relay: OutboxRelay): Promise<void> => {
          while ((await relay.pending()) > 0) await relay.relayOnce();
        };
        await Promise.all([drain(first), drain(second)]);
        assert.equal(stream.length, 800);
        assert.equal(new Set(stream.map((entry) => entry.event.id)).size, 800, 'each event published once');
        assert.deepEqual(new Set(stream.map((entry) => entry.relay)), new Set(['first', 'second']), 'both relays took batches');
        for (const subject of subjects) {
          const order = stream.filter((entry) => entry.event.subject === subject).map((entry) => (entry.event.data as { n: number }).n);
          assert.deepEqual(order, Array.from({ length: 8 }, (_, n) => n), `order of ${subject}`);
        }
      });
    }
  });
}
