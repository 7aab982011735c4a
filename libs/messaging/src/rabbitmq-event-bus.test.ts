import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import amqp from 'amqplib';
import { sql } from 'kysely';
import { contractEvent, describeEventBusContract, eventually } from './event-bus.contract.ts';
import { Inbox } from './inbox.ts';
import { MemoryDeadLetterStore } from './memory-dead-letter-store.ts';
import { Outbox } from './outbox.ts';
import { OutboxRelay } from './outbox-relay.ts';
import { RabbitMqEventBus } from './rabbitmq-event-bus.ts';
import { closeConnectionsNamed, deleteTestTopology, uniquePrefix } from './rabbitmq-test-topology.ts';
import { subjectSlot } from './subject-slot.ts';
import { openTestDatabase, type TestDatabase } from './test-database.ts';

const url = process.env.AMQP_URL;
const run = promisify(execFile);

if (!url) {
  describe('RabbitMqEventBus', () => {
    it('needs a broker: set AMQP_URL=amqp://guest:guest@127.0.0.1:5672 to run this suite', { skip: 'AMQP_URL is not set' }, () => {});
  });
} else {
  describeEventBusContract('RabbitMQ', async () => {
    const prefix = uniquePrefix('contract');
    const options = { url, prefix, rebalanceIntervalMs: 100, partitions: 4 };
    const first = await RabbitMqEventBus.connect({ ...options, name: 'contract-1' });
    const second = await RabbitMqEventBus.connect({ ...options, name: 'contract-2' });
    const groups: string[] = [];
    return {
      buses: [first, second],
      timeoutMs: 60_000,
      dropGroup: async (group) => void groups.push(group),
      close: async () => {
        await second.close();
        try {
          await deleteTestTopology(url, first, groups, ['contract', 'other']);
        } finally {
          await first.close();
        }
      },
    };
  });

  describe('RabbitMqEventBus specifics', () => {
    let bus: RabbitMqEventBus;
    const groups: string[] = [];
    const deadLetters = new MemoryDeadLetterStore();

    before(async () => {
      bus = await RabbitMqEventBus.connect({ url, prefix: uniquePrefix('specifics'), rebalanceIntervalMs: 100 });
    });

    after(async () => {
      try {
        await deleteTestTopology(url, bus, groups, ['contract']);
      } finally {
        await bus.close();
      }
    });

    it('rejects a message that is not an event envelope into the poison queue and carries on', async () => {
      const group = 'poisoned';
      groups.push(group);
      const seen: string[] = [];
      const subscription = await bus.subscribe(group, ['contract.*'], async (event) => void seen.push(event.id), { deadLetters });
      const connection = await amqp.connect(url);
      try {
        const channel = await connection.createConfirmChannel();
        channel.publish(bus.names.family('contract'), `contract.happened.${subjectSlot('same')}`, Buffer.from('{"not":"an event"'), { persistent: true });
        await channel.waitForConfirms();
        await channel.close();
      } finally {
        await connection.close();
      }
      const event = contractEvent('same', {});
      await bus.publish(event);
      await eventually('the valid event behind it', () => seen.includes(event.id), 30_000);
      const probe = await bus.channel();
      await eventually('the poison queue to hold the message', async () => (await probe.checkQueue(bus.names.poisonQueue())).messageCount === 1, 30_000);
      await probe.close();
      await subscription.close();
    });

    it('refuses to subscribe a group with another partition count than it was created with', async () => {
      const group = 'fixed-partitions';
      groups.push(group);
      const subscription = await bus.subscribe(group, ['contract.*'], async () => {}, { deadLetters });
      for (const partitions of [2, 8]) {
        const other = await RabbitMqEventBus.connect({ url, prefix: bus.names.prefix, partitions });
        try {
          await assert.rejects(other.subscribe(group, ['contract.*'], async () => {}, { deadLetters }), { reason: 'PARTITION_COUNT_CHANGED' });
        } finally {
          await other.close();
        }
      }
      await subscription.close();
    });

    it('reports the broker unavailable when it cannot be reached within the bound', async () => {
      await assert.rejects(
        RabbitMqEventBus.connect({ url: 'amqp://guest:guest@127.0.0.1:1', connectTimeoutMs: 300 }),
        { reason: 'EVENT_BROKER_UNAVAILABLE' },
      );
    });

    it('gives each broadcast subscriber a queue of its own that goes away with it', async () => {
      const before = await bus.channel();
      const queues = async (): Promise<string[]> => {
        const { stdout } = await run('rabbitmqctl', ['list_queues', 'name', 'exclusive', '--formatter', 'json', '-q'], { timeout: 30_000 });
        return (JSON.parse(stdout) as Array<{ name: string; exclusive: boolean }>).filter((queue) => queue.exclusive).map((queue) => queue.name);
      };
      await before.close();
      const existing = new Set(await queues());
      const subscription = await bus.subscribeBroadcast(['contract.*'], () => {});
      const mine = (await queues()).filter((name) => !existing.has(name));
      assert.equal(mine.length, 1, 'one exclusive server-named queue');
      assert.match(mine[0] ?? '', /^amq\.gen-/);
      await subscription.close();
      assert.ok(!(await queues()).includes(mine[0] ?? ''), 'deleted when the subscriber closed');
    });

    it('tells a broadcast subscriber about the gap after its connection was lost, and delivers again', async () => {
      const name = `broadcast-gap-${process.pid}-${Date.now()}`;
      const listener = await RabbitMqEventBus.connect({ url, prefix: bus.names.prefix, name, reconnect: { initialMs: 50, maxMs: 200 } });
      try {
        const seen: string[] = [];
        let gaps = 0;
        const subscription = await listener.subscribeBroadcast(['contract.*'], (event) => void seen.push(event.id), { onGap: () => (gaps += 1) });
        const first = contractEvent('gap', {});
        await bus.publish(first);
        await eventually('the first event', () => seen.includes(first.id), 30_000);
        assert.ok(await closeConnectionsNamed(name), 'the broker closed the listener connection');
        await eventually('the gap to be reported after reconnecting', () => gaps === 1, 30_000);
        const second = contractEvent('gap', {});
        await bus.publish(second);
        await eventually('the event after the gap', () => seen.includes(second.id), 30_000);
        await subscription.close();
      } finally {
        await listener.close();
      }
    });

    it('refuses to replay into a group the broker does not know', async () => {
      await assert.rejects(bus.redeliver('never-subscribed', contractEvent('s', {})), { reason: 'CONSUMER_GROUP_NOT_FOUND' });
    });
  });

  // Last in this file, so the restart cannot disturb the suites above.
  describe('RabbitMQ broker restart', () => {
    let testDb: TestDatabase;
    let producer: RabbitMqEventBus;
    let consumer: RabbitMqEventBus;
    let canRestart = true;
    const group = 'restart-survivor';
    const producerLines: string[] = [];
    const record = (_object: Record<string, unknown>, message: string): void => void producerLines.push(message);
    const producerLog = { info: record, warn: record, error: record };

    before(async () => {
      try {
        await run('rabbitmqctl', ['status'], { timeout: 30_000 });
      } catch {
        canRestart = false;
        return;
      }
      testDb = await openTestDatabase({ databaseUrl: process.env.DATABASE_URL });
      await sql`create table received (event_id uuid primary key)`.execute(testDb.database.db);
      await sql`create table booking (id serial primary key, subject text not null)`.execute(testDb.database.db);
      const prefix = uniquePrefix('restart');
      producer = await RabbitMqEventBus.connect({ url, prefix, name: 'restart-producer', publishTimeoutMs: 60_000, heartbeatSeconds: 2, logger: producerLog });
      consumer = await RabbitMqEventBus.connect({ url, prefix, name: 'restart-consumer', rebalanceIntervalMs: 200, heartbeatSeconds: 2 });
    });

    after(async () => {
      if (!canRestart) return;
      await run('rabbitmqctl', ['start_app'], { timeout: 60_000 }).catch(() => undefined);
      try {
        await deleteTestTopology(url, consumer, [group], ['contract']);
      } finally {
        await producer.close();
        await consumer.close();
        await testDb.close();
      }
    });

    it('loses nothing committed while the broker stops and starts during a publish loop; the relay resumes by itself', async (t) => {
      if (!canRestart) {
        t.skip('rabbitmqctl is not available to restart the broker');
        return;
      }
      const inbox = new Inbox({ database: testDb.database });
      let duplicates = 0;
      await consumer.subscribe(
        group,
        ['contract.*'],
        inbox.handler(
          async (event, trx) => {
            await sql`insert into received (event_id) values (${event.id}::uuid)`.execute(trx);
          },
          { onDuplicate: () => (duplicates += 1) },
        ),
        { deadLetters: new MemoryDeadLetterStore() },
      );
      const outbox = new Outbox();
      const relay = new OutboxRelay({ database: testDb.database, bus: producer, outbox, concurrentRelays: testDb.kind === 'postgres', idlePollMs: 50 });
      relay.start();
      const total = 300;
      const ids: string[] = [];
      let restart: Promise<unknown> = Promise.resolve();
      try {
        for (let index = 0; index < total; index += 1) {
          const event = contractEvent(`booking-${index % 13}`, { index });
          ids.push(event.id);
          await testDb.database.transaction(async (trx) => {
            await sql`insert into booking (subject) values (${event.subject})`.execute(trx);
            await outbox.add(trx, event);
          });
          if (index === 60) {
            restart = (async () => {
              await run('rabbitmqctl', ['stop_app'], { timeout: 60_000 });
              await new Promise((resolve) => setTimeout(resolve, 2000));
              await run('rabbitmqctl', ['start_app'], { timeout: 60_000 });
            })();
          }
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await restart;
        await eventually(
          'every committed event at the consumer',
          async () => {
            const { rows } = await sql<{ count: number }>`select count(*)::int as count from received`.execute(testDb.database.db);
            return Number(rows[0]?.count) === total;
          },
          90_000,
        );
      } finally {
        await restart.catch(() => undefined);
        await relay.stop();
      }
      const { rows } = await sql<{ event_id: string }>`select event_id from received`.execute(testDb.database.db);
      assert.deepEqual(rows.map((row) => row.event_id).sort(), [...ids].sort());
      assert.equal(await relay.pending(), 0);
      assert.ok(producerLines.includes('RabbitMQ connection lost; reconnecting'), 'the producer saw the broker go away');
      assert.ok(producerLines.includes('RabbitMQ connection restored'), 'and come back');
      t.diagnostic(`${total} events delivered after a broker restart; ${duplicates} redeliveries absorbed by the inbox`);
    });
  });
}
