import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventEnvelope } from '@carshare/contracts';
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
