import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { contractEvent, describeEventBusContract, eventually } from './event-bus.contract.ts';
import { InProcessEventBus, maxUnroutedPerType } from './in-process-event-bus.ts';
import { MemoryDeadLetterStore } from './memory-dead-letter-store.ts';

describeEventBusContract('in-process', async () => {
  const bus = new InProcessEventBus();
  return { buses: [bus, bus], timeoutMs: 20_000, dropGroup: async () => {}, close: () => bus.close() };
});

describe('InProcessEventBus', () => {
  it('parks a bounded number of events per type no group subscribes to, and a late group still gets a rare type in order', async () => {
    const bus = new InProcessEventBus();
    const rare = [contractEvent('car-1', { n: 1 }, 'rare.changed'), contractEvent('car-1', { n: 2 }, 'rare.created'), contractEvent('car-1', { n: 3 }, 'rare.changed')];
    await bus.publish(rare[0]!);
    await bus.publish(rare[1]!);
    // A stream nobody consumes, ten times what is kept of a type.
    for (let index = 0; index < maxUnroutedPerType * 10; index += 1) await bus.publish(contractEvent(`car-${index % 50}`, { index }, 'stream.reported'));
    await bus.publish(rare[2]!);
    assert.equal(bus.unroutedCount('stream.reported'), maxUnroutedPerType);
    assert.equal(bus.unroutedCount('rare.created'), 1);
    const seen: string[] = [];
    await bus.subscribe('late', ['rare.*'], async (event) => void seen.push(event.id), { deadLetters: new MemoryDeadLetterStore(), maxAttempts: 1 });
    await eventually('the late group to get the rare events', () => seen.length === 3, 5_000);
    assert.deepEqual(seen, rare.map((event) => event.id), 'one subject, several types: in the order they were published');
    assert.equal(bus.unroutedCount('rare.created'), 0);
    assert.equal(bus.unroutedCount('stream.reported'), maxUnroutedPerType, 'a type the new group does not match stays parked');
    const streamed: number[] = [];
    await bus.subscribe('stream', ['stream.reported'], async (event) => void streamed.push((event.data as { index: number }).index), { deadLetters: new MemoryDeadLetterStore(), maxAttempts: 1 });
    await eventually('the stream group to get what was kept', () => streamed.length === maxUnroutedPerType, 5_000);
    assert.equal(Math.min(...streamed), maxUnroutedPerType * 9, 'the newest are kept, the oldest dropped');
    await bus.close();
  });

  it('waits the exponential backoff between attempts, on the injected timers', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const bus = new InProcessEventBus({ random: () => 0.5 });
      const deadLetters = new MemoryDeadLetterStore();
      const attempts: number[] = [];
      await bus.subscribe(
        'timing',
        ['contract.*'],
        async (_event, context) => {
          attempts.push(context.attempt);
          throw new Error('down');
        },
        { deadLetters, maxAttempts: 4, backoff: { initialMs: 100, factor: 2, maxMs: 300, jitter: 0.2 } },
      );
      await bus.publish(contractEvent('s', {}));
      const settle = async (): Promise<void> => {
        for (let index = 0; index < 20; index += 1) await Promise.resolve();
      };
      await settle();
      assert.deepEqual(attempts, [1]);
      // 100 ms less 10 % jitter (random 0.5 × 0.2) = 90 ms.
      mock.timers.tick(89);
      await settle();
      assert.deepEqual(attempts, [1]);
      mock.timers.tick(1);
      await settle();
      assert.deepEqual(attempts, [1, 2]);
      mock.timers.tick(180); // 200 × 0.9
      await settle();
      assert.deepEqual(attempts, [1, 2, 3]);
      mock.timers.tick(269); // capped at 300 × 0.9 = 270
      await settle();
      assert.deepEqual(attempts, [1, 2, 3]);
      mock.timers.tick(1);
      await settle();
      assert.deepEqual(attempts, [1, 2, 3, 4]);
      assert.equal((await deadLetters.list()).items.length, 1);
      await bus.close();
    } finally {
      mock.timers.reset();
    }
  });

  it('refuses what is not an event envelope and unknown groups for redelivery', async () => {
    const bus = new InProcessEventBus();
    await assert.rejects(bus.publish({ id: 'x' } as never), { reason: 'INVALID_EVENT' });
    await assert.rejects(bus.redeliver('nobody', contractEvent('s', {})), { reason: 'CONSUMER_GROUP_NOT_FOUND' });
    await assert.rejects(
      bus.subscribe('g', ['*.x'], async () => {}, { deadLetters: new MemoryDeadLetterStore() }),
      { reason: 'INVALID_TOPIC' },
    );
    await bus.close();
    await assert.rejects(bus.publish(contractEvent('s', {})), { reason: 'EVENT_BUS_CLOSED' });
  });

  it('lets a closing instance finish its event while the group keeps the rest for others', async () => {
    const bus = new InProcessEventBus();
    const deadLetters = new MemoryDeadLetterStore();
    let release: () => void = () => {};
    const started: string[] = [];
    const first = await bus.subscribe(
      'handover',
      ['contract.*'],
      async (event) => {
        started.push(event.id);
        await new Promise<void>((resolve) => {
          release = resolve;
        });
      },
      { deadLetters, concurrency: 1 },
    );
    const events = [contractEvent('a', {}), contractEvent('a', {})];
    await bus.publish(events);
    assert.deepEqual(started, [events[0]?.id]);
    const closing = first.close();
    release();
    await closing;
    assert.equal(bus.backlog('handover'), 1);
    const seen: string[] = [];
    await bus.subscribe('handover', ['contract.*'], async (event) => void seen.push(event.id), { deadLetters });
    await eventually('the second instance to take the rest', () => bus.backlog('handover') === 0, 1000);
    assert.deepEqual(seen, [events[1]?.id]);
    await bus.close();
  });
  it('keeps a slow broadcast subscriber to its newest events, dropping the oldest beyond maxBacklog', async () => {
    const bus = new InProcessEventBus();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const seen: number[] = [];
    const subscription = await bus.subscribeBroadcast(
      ['contract.*'],
      async (event) => {
        seen.push(Number((event.data as { index: number }).index));
        await gate;
      },
      { maxBacklog: 2 },
    );
    await bus.publish(contractEvent('s', { index: 0 }));
    await eventually('the first event in the handler', () => seen.length === 1, 5_000);
    await bus.publish([1, 2, 3, 4].map((index) => contractEvent('s', { index })));
    release();
    await eventually('the backlog drained', () => seen.length === 3, 5_000);
    assert.deepEqual(seen, [0, 3, 4]);
    await subscription.close();
    await bus.close();
  });
});
