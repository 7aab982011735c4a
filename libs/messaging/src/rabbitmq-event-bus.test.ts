import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { backoffPolicy } from '@carshare/platform';
import amqp, { type ChannelModel } from 'amqplib';
import { ConfirmingPublisher, type OutgoingMessage } from './confirming-publisher.ts';
import { contractEvent, describeEventBusContract, eventually } from './event-bus.contract.ts';
import { MemoryDeadLetterStore } from './memory-dead-letter-store.ts';
import { RabbitMqConnection } from './rabbitmq-connection.ts';
import { RabbitMqEventBus } from './rabbitmq-event-bus.ts';
import { closeConnectionsNamed, deleteTestTopology, uniquePrefix } from './rabbitmq-test-topology.ts';
import { subjectSlot } from './subject-slot.ts';

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
          await deleteTestTopology(url, first, groups, ['contract', 'other', 'unrelated']);
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
        await deleteTestTopology(url, bus, groups, ['contract', 'latecomer']);
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

    it('parks an event no group is bound for, and delivers it to a group created 10 s later (not to broadcast subscribers)', async () => {
      const group = 'ten-seconds-late';
      groups.push(group);
      const unrouted = async (): Promise<number> => {
        const channel = await bus.channel();
        try {
          return (await channel.checkQueue(bus.names.unroutedQueue())).messageCount;
        } finally {
          await channel.close().catch(() => undefined);
        }
      };
      const parkedBefore = await unrouted();
      const event = contractEvent('late-group', {}, 'latecomer.unclaimed');
      await bus.publish(event);
      assert.equal(await unrouted(), parkedBefore + 1, 'the broker confirmed it into the unrouted queue, not into nothing');
      const live: string[] = [];
      const broadcast = await bus.subscribeBroadcast(['latecomer.unclaimed'], (received) => void live.push(received.id));
      // Real time: the broker's clock cannot be faked, and acceptance asks for a group 10 s late.
      await new Promise((resolve) => setTimeout(resolve, 10_000));
      const seen: string[] = [];
      const subscription = await bus.subscribe(group, ['latecomer.unclaimed'], async (received) => void seen.push(received.id), { deadLetters });
      await eventually('the parked event at the late group', () => seen.includes(event.id), 30_000);
      const after = contractEvent('late-group', {}, 'latecomer.unclaimed');
      await bus.publish(after);
      await eventually('a live event at the broadcast subscriber', () => live.includes(after.id), 30_000);
      assert.deepEqual(live, [after.id], 'the replayed event is not news to a broadcast subscriber');
      await subscription.close();
      await broadcast.close();
    });

    it('retries through a quorum delay queue with at-least-once dead-lettering back to the partition', async () => {
      const group = 'quorum-retry';
      groups.push(group);
      const attempts: number[] = [];
      const subscription = await bus.subscribe(
        group,
        ['contract.*'],
        async (_event, context) => {
          attempts.push(context.attempt);
          if (context.attempt < 3) throw new Error('not yet');
        },
        { deadLetters, maxAttempts: 3, backoff: { initialMs: 20, maxMs: 40, jitter: 0 } },
      );
      await bus.publish(contractEvent('retried', {}));
      await eventually('the third attempt', () => attempts.includes(3), 30_000);
      await subscription.close();
      const { stdout } = await run('rabbitmqctl', ['list_queues', 'name', 'type', 'arguments', '--formatter', 'json', '-q'], { timeout: 30_000 });
      const delayQueues = (JSON.parse(stdout) as Array<{ name: string; type: string; arguments: Array<[string, string, unknown]> | Record<string, unknown> }>).filter((queue) =>
        queue.name.startsWith(`${bus.names.group(group).base}.delay.`),
      );
      assert.ok(delayQueues.length >= 1, 'the retries went through a delay queue');
      for (const queue of delayQueues) {
        assert.equal(queue.type, 'quorum', queue.name);
        const text = JSON.stringify(queue.arguments);
        assert.match(text, /x-dead-letter-strategy.*at-least-once/, queue.name);
        assert.match(text, /x-overflow.*reject-publish/, queue.name);
      }
    });

    it('holds publishes while the broker blocks the connection (connection.blocked), failing Unavailable at the deadline', async () => {
      let model: ChannelModel | undefined;
      const logger = { info: () => {}, warn: () => {}, error: () => {} };
      const connection = new RabbitMqConnection({
        url,
        name: 'blocked-test',
        heartbeatSeconds: 20,
        reconnect: backoffPolicy({ initialMs: 50, maxMs: 200, factor: 2, jitter: 0 }),
        logger,
        onConnected: async (connected) => {
          model = connected;
          await publisher.connected(connected);
        },
        onDisconnected: () => publisher.disconnected(),
      });
      const publisher = new ConfirmingPublisher({ connection, prefix: bus.names.prefix, publishTimeoutMs: 1000, logger });
      await connection.start(10_000);
      try {
        const message = (): OutgoingMessage => {
          const event = contractEvent('blocked', {});
          return { exchange: bus.names.family('contract'), routingKey: `${event.type}.${subjectSlot(event.subject)}`, event, headers: {} };
        };
        // What amqplib emits when the broker sends connection.blocked (a memory or disk alarm).
        model?.emit('blocked', 'low on memory');
        assert.equal(connection.blockedReason, 'low on memory');
        await assert.rejects(publisher.send([message()]), { reason: 'EVENT_BUS_UNAVAILABLE' });
        const held = publisher.send([message()]);
        let sent = false;
        void held.then(() => (sent = true));
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.equal(sent, false, 'nothing goes out while blocked');
        model?.emit('unblocked');
        await held;
        assert.equal(connection.blockedReason, undefined);
      } finally {
        publisher.close();
        await connection.close();
      }
    });

    it('refuses to replay into a group the broker does not know', async () => {
      await assert.rejects(bus.redeliver('never-subscribed', contractEvent('s', {})), { reason: 'CONSUMER_GROUP_NOT_FOUND' });
    });
  });
}
