import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodeCursor } from '@carshare/storage';
import { FakeClock } from '@carshare/testing';
import { Registry } from 'prom-client';
import type { DeadLetterStore, NewDeadLetter } from './dead-letter-store.ts';
import { contractEvent } from './event-bus.contract.ts';

export interface DeadLetterStoreFixture {
  store: DeadLetterStore;
  clock: FakeClock;
  registry: Registry;
  close(): Promise<void>;
}

function letter(group: string, type: string, subject = 's'): NewDeadLetter {
  const event = contractEvent(subject, { type }, type);
  return { group, event, error: { name: 'Error', message: `failed ${type}` }, attempts: 5, ...(event.traceparent ? { traceparent: event.traceparent } : {}) };
}

/** What every DeadLetterStore does; `open` gets a fresh, empty store with a fake clock and a registry. */
export function describeDeadLetterStoreContract(name: string, open: (clock: FakeClock, registry: Registry) => Promise<DeadLetterStoreFixture>): void {
  describe(`DeadLetterStore contract: ${name}`, () => {
    let fixture: DeadLetterStoreFixture;

    before(async () => {
      fixture = await open(new FakeClock('2026-02-01T00:00:00.000Z'), new Registry());
      const { store, clock } = fixture;
      for (const [group, type] of [
        ['billing', 'trip.finished'],
        ['billing', 'payment.failed'],
        ['analytics', 'trip.finished'],
        ['analytics', 'trip.started'],
        ['billing', 'trip.started'],
      ] as const) {
        clock.advance(1000);
        await store.add(letter(group, type));
      }
    });

    after(async () => {
      await fixture.close();
    });

    it('lists newest first with the error, attempts, trace context and failure time', async () => {
      const { items, nextCursor } = await fixture.store.list();
      assert.equal(items.length, 5);
      assert.equal(nextCursor, undefined);
      assert.deepEqual(
        items.map((item) => `${item.group}:${item.event.type}`),
        ['billing:trip.started', 'analytics:trip.started', 'analytics:trip.finished', 'billing:payment.failed', 'billing:trip.finished'],
      );
      const newest = items[0];
      assert.ok(newest);
      assert.equal(newest.attempts, 5);
      assert.equal(newest.error.message, 'failed trip.started');
      assert.equal(newest.traceparent, newest.event.traceparent);
      assert.equal(newest.failedAt, '2026-02-01T00:00:05.000Z');
    });

    it('filters by group and by topic pattern', async () => {
      const billing = await fixture.store.list({ group: 'billing' });
      assert.deepEqual(billing.items.map((item) => item.event.type), ['trip.started', 'payment.failed', 'trip.finished']);
      const trips = await fixture.store.list({ topic: 'trip.*' });
      assert.equal(trips.items.length, 4);
      const billingTrips = await fixture.store.list({ group: 'billing', topic: 'trip.#' });
      assert.deepEqual(billingTrips.items.map((item) => item.event.type), ['trip.started', 'trip.finished']);
      const exact = await fixture.store.list({ topic: 'payment.failed' });
      assert.equal(exact.items.length, 1);
    });

    it('pages with an opaque cursor until the last page', async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await fixture.store.list({ limit: 2, ...(cursor ? { cursor } : {}) });
        seen.push(...page.items.map((item) => item.id));
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor);
      assert.equal(pages, 3);
      assert.equal(new Set(seen).size, 5);
      await assert.rejects(fixture.store.list({ cursor: 'not a cursor!' }), { reason: 'INVALID_CURSOR' });
      await assert.rejects(fixture.store.list({ limit: 0 }), { reason: 'INVALID_LIMIT' });
    });

    // A well-formed cursor that this list never gave out (another list's, or a forged one) must
    // not be read as "start before the smallest id" and answer a silent empty page.
    it('refuses a cursor that does not hold a dead-letter id', async () => {
      for (const cursor of [encodeCursor(['not-a-uuid']), encodeCursor([42]), encodeCursor([null]), encodeCursor([new Date(0)])]) {
        await assert.rejects(fixture.store.list({ cursor }), { code: 'INVALID_ARGUMENT', reason: 'INVALID_CURSOR' }, cursor);
      }
      const first = await fixture.store.list({ limit: 1 });
      const id = first.items[0]?.id ?? assert.fail('no dead letters');
      await assert.rejects(fixture.store.list({ cursor: encodeCursor([id, 'extra']) }), { reason: 'INVALID_CURSOR' }, 'two key values');
    });

    it('keeps one record per group and event, updated when the event fails again', async () => {
      const again = letter('retrying', 'car.state_changed');
      await fixture.store.add(again);
      fixture.clock.advance(60_000);
      await fixture.store.add({ ...again, attempts: 3, error: { name: 'Error', message: 'still failing' } });
      const { items } = await fixture.store.list({ group: 'retrying' });
      assert.equal(items.length, 1);
      assert.equal(items[0]?.attempts, 3);
      assert.equal(items[0]?.error.message, 'still failing');
      assert.equal(items[0]?.failedAt, new Date(fixture.clock.now()).toISOString());
    });

    it('gets and deletes one record by id', async () => {
      const [first] = (await fixture.store.list({ group: 'retrying' })).items;
      assert.ok(first);
      assert.deepEqual(await fixture.store.get(first.id), first);
      assert.equal(await fixture.store.delete(first.id), true);
      assert.equal(await fixture.store.get(first.id), undefined);
      assert.equal(await fixture.store.delete(first.id), false);
      assert.equal(await fixture.store.get('not-an-id'), undefined);
    });

    it('exposes the count per group as a gauge', async () => {
      assert.deepEqual(await fixture.store.countByGroup(), new Map([['billing', 3], ['analytics', 2]]));
      const text = await fixture.registry.getSingleMetricAsString('messaging_dead_letter_messages');
      assert.match(text, /messaging_dead_letter_messages\{group="billing"\} 3/);
      assert.match(text, /messaging_dead_letter_messages\{group="analytics"\} 2/);
    });
  });
}
