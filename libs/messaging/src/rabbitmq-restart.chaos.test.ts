import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { contractEvent, eventually } from './event-bus.contract.ts';
import { Inbox } from './inbox.ts';
import { MemoryDeadLetterStore } from './memory-dead-letter-store.ts';
import { Outbox } from './outbox.ts';
import { OutboxRelay } from './outbox-relay.ts';
import { RabbitMqEventBus } from './rabbitmq-event-bus.ts';
import { brokerCanRestart, deleteTestTopology, ensureBrokerRunning, restartBroker, uniquePrefix } from './rabbitmq-test-topology.ts';
import { openTestDatabase, type TestDatabase } from './test-database.ts';

/**
 * Broker restarts. A drill (`*.chaos.test.ts`): `npm test` runs the drills after every other test
 * file, one at a time, so these restarts do not pull the broker from under other suites. Each
 * restart is `rabbitmqctl stop_app` + `start_app` (the Erlang node stays up; durable queues and
 * persistent messages are recovered from disk as after a full restart) and the broker is left
 * running whatever happens.
 */
const url = process.env.AMQP_URL;

if (!url) {
  describe('RabbitMQ broker restart', () => {
    it('needs a broker: set AMQP_URL=amqp://guest:guest@127.0.0.1:5672 to run this drill', { skip: 'AMQP_URL is not set' }, () => {});
  });
} else {
  describe('RabbitMQ broker restart with messages at rest', () => {
    const group = 'at-rest';
    const parked = 200;
    let bus: RabbitMqEventBus;
    let canRestart = true;

    before(async () => {
      canRestart = await brokerCanRestart();
      if (canRestart) bus = await RabbitMqEventBus.connect({ url, prefix: uniquePrefix('at-rest'), name: 'at-rest', heartbeatSeconds: 2, publishTimeoutMs: 60_000 });
    });

    after(async () => {
      if (!canRestart) return;
      await ensureBrokerRunning();
      try {
        await deleteTestTopology(url, bus, [group], ['contract']);
      } finally {
        await bus.close();
      }
    });

    it(`keeps ${parked} events parked in a group's queues through a broker restart`, async (t) => {
      if (!canRestart) {
        t.skip('rabbitmqctl is not available to restart the broker');
        return;
      }
      const deadLetters = new MemoryDeadLetterStore();
      // Creates the group's queues, then leaves it without an instance: events wait in its partitions.
      await (await bus.subscribe(group, ['contract.*'], async () => {}, { deadLetters })).close();
      const events = Array.from({ length: parked }, (_, index) => contractEvent(`parked-${index % 17}`, { index }));
      for (let index = 0; index < parked; index += 50) await bus.publish(events.slice(index, index + 50));
      const atRest = async (): Promise<number> => {
        const channel = await bus.channel();
        try {
          let count = 0;
          for (let partition = 0; partition < bus.partitions; partition += 1) count += (await channel.checkQueue(bus.names.group(group).partition(partition))).messageCount;
          return count;
        } finally {
          await channel.close().catch(() => undefined);
        }
      };
      assert.equal(await atRest(), parked, 'every event waits in the partitions before the restart');

      await restartBroker({ downMs: 0 });
      await eventually('the bus to reconnect', () => bus.isConnected, 60_000);
      assert.equal(await atRest(), parked, 'and after it');

      const seen = new Set<string>();
      const subscription = await bus.subscribe(group, ['contract.*'], async (event) => void seen.add(event.id), { deadLetters });
      await eventually(`all ${parked} parked events at the group`, () => seen.size === parked, 60_000);
      await subscription.close();
      assert.deepEqual([...seen].sort(), events.map((event) => event.id).sort());
    });
  });

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
      canRestart = await brokerCanRestart();
      if (!canRestart) return;
      testDb = await openTestDatabase({ databaseUrl: process.env.DATABASE_URL });
      await sql`create table received (event_id uuid primary key)`.execute(testDb.database.db);
      await sql`create table booking (id serial primary key, subject text not null)`.execute(testDb.database.db);
      const prefix = uniquePrefix('restart');
      producer = await RabbitMqEventBus.connect({ url, prefix, name: 'restart-producer', publishTimeoutMs: 60_000, heartbeatSeconds: 2, logger: producerLog });
      consumer = await RabbitMqEventBus.connect({ url, prefix, name: 'restart-consumer', rebalanceIntervalMs: 200, heartbeatSeconds: 2 });
    });

    after(async () => {
      if (!canRestart) return;
      await ensureBrokerRunning();
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
            restart = restartBroker({ downMs: 2000 });
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
