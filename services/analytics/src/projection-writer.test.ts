import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventEnvelope } from '@carshare/contracts';
import { systemScheduler } from '@carshare/platform';
import { FakeClock } from '@carshare/testing';
import type { ProjectedBatch, StatsStore } from './ports.ts';
import { ProjectionWriter } from './projection-writer.ts';
import { scriptedHistory } from './testing/scripted-history.ts';

/** A store that records its transactions and refuses any that holds the poisoned event. */
class RecordingStore {
  batches: string[][] = [];
  readonly #poisoned: string | undefined;

  constructor(poisoned: string | undefined) {
    this.#poisoned = poisoned;
  }

  async append(events: readonly EventEnvelope[]): Promise<ProjectedBatch> {
    this.batches.push(events.map((event) => event.id));
    if (events.some((event) => event.id === this.#poisoned)) throw new Error('constraint violated');
    return { archived: events.map((event) => ({ event, reading: { projected: true, facts: [], spans: [] } })), facts: [] };
  }
}

function writerOn(store: RecordingStore, maxBatch: number) {
  return new ProjectionWriter({ store: store as unknown as StatsStore, clock: new FakeClock(), maxBatch });
}

describe('the projection writer', () => {
  it('commits the events that arrive while a transaction runs together, at most maxBatch at a time', async () => {
    const store = new RecordingStore(undefined);
    const writer = writerOn(store, 4);
    const events = scriptedHistory().slice(0, 9);
    await Promise.all(events.map((event) => writer.write(event, 'test')));
    assert.deepEqual(store.batches.map((batch) => batch.length), [1, 4, 4]);
    assert.equal(writer.waiting, 0);
  });

  it('gathers the events that trickle in within gatherMs into one transaction, and a full batch goes at once', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const store = new RecordingStore(undefined);
    const writer = new ProjectionWriter({ store: store as unknown as StatsStore, clock: new FakeClock(), maxBatch: 3, gatherMs: 20, scheduler: systemScheduler });
    const events = scriptedHistory().slice(0, 6);
    const first = writer.write(events[0] as EventEnvelope, 'test');
    t.mock.timers.tick(15);
    const second = writer.write(events[1] as EventEnvelope, 'test');
    await Promise.resolve();
    assert.equal(store.batches.length, 0, 'nothing committed while gathering');
    t.mock.timers.tick(5);
    await Promise.all([first, second]);
    assert.deepEqual(store.batches, [[events[0]?.id, events[1]?.id]]);

    // maxBatch events need no timer.
    await Promise.all(events.slice(2, 5).map((event) => writer.write(event, 'test')));
    assert.deepEqual(store.batches.map((batch) => batch.length), [2, 3]);

    // flush() (the module's close) lets a gathering batch through.
    const last = writer.write(events[5] as EventEnvelope, 'test');
    writer.flush();
    await last;
    assert.deepEqual(store.batches.map((batch) => batch.length), [2, 3, 1]);
  });

  it('fails only the bad event of a failed batch: the others are committed alone and resolve', async () => {
    const events = scriptedHistory().slice(0, 6);
    const bad = events[3] as EventEnvelope;
    const store = new RecordingStore(bad.id);
    const writer = writerOn(store, 10);
    const outcomes = await Promise.allSettled(events.map((event) => writer.write(event, 'test')));
    assert.deepEqual(outcomes.map((outcome) => outcome.status), ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    // First alone, then five together (refused), then one by one.
    assert.deepEqual(store.batches.map((batch) => batch.length), [1, 5, 1, 1, 1, 1, 1]);
    // The writer keeps going after a failure.
    await writer.write(scriptedHistory()[7] as EventEnvelope, 'test');
  });
});
