import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Caller } from '@carshare/platform';
import { FakeClock, SequentialIds, failOnCall, newTestService } from '@carshare/testing';
import { MemoryItemStore } from './adapters/memory-item-store.ts';
import { createAnalyticsService } from './analytics-service.ts';

/** The use cases on in-memory ports: one line per test, no database where SQL adds nothing. */
function newAnalyticsService() {
  return newTestService(createAnalyticsService, { items: new MemoryItemStore(), clock: new FakeClock(), ids: new SequentialIds() });
}

const rider: Caller = { userId: '01890a5d-ac96-774b-bcce-b302099a8057', role: 'rider', plan: 'free', token: 't' };
const otherRider: Caller = { ...rider, userId: '01890a5d-ac96-774b-bcce-b302099a8058' };
const operator: Caller = { ...otherRider, role: 'operator' };

describe('analytics service', () => {
  it('creates an item owned by the caller, at the time of the clock', async () => {
    const { sut, fakes } = newAnalyticsService();
    fakes.clock.advance(1_000);
    const item = await sut.createItem({ name: ' spare key ' }, rider);
    assert.deepEqual(item, { id: item.id, ownerId: rider.userId, name: 'spare key', createdAt: fakes.clock.now() });
    assert.deepEqual(await fakes.items.find(item.id), item);
  });

  it('asks for a signed-in caller', async () => {
    const { sut } = newAnalyticsService();
    await assert.rejects(sut.createItem({ name: 'x' }, undefined), { reason: 'AUTHENTICATION_REQUIRED' });
    await assert.rejects(sut.listItems({ limit: 10 }, undefined), { reason: 'AUTHENTICATION_REQUIRED' });
  });

  it("hides another rider's item as not found, and shows it to operators", async () => {
    const { sut } = newAnalyticsService();
    const item = await sut.createItem({ name: 'keys' }, rider);
    await assert.rejects(sut.getItem({ id: item.id }, otherRider), { reason: 'ITEM_NOT_FOUND' });
    assert.equal((await sut.getItem({ id: item.id }, operator)).id, item.id);
  });

  it("lists only the caller's own items", async () => {
    const { sut } = newAnalyticsService();
    await sut.createItem({ name: 'mine' }, rider);
    await sut.createItem({ name: 'theirs' }, otherRider);
    const page = await sut.listItems({ limit: 10 }, rider);
    assert.deepEqual(page.items.map((item) => item.name), ['mine']);
  });

  it('reports a store that fails, and keeps nothing of the failed call', async () => {
    const { sut, fakes } = newAnalyticsService();
    failOnCall(fakes.items, 'insert', 1, new Error('disk full'));
    await assert.rejects(sut.createItem({ name: 'lost' }, rider), /disk full/);
    assert.deepEqual((await sut.listItems({ limit: 10 }, rider)).items, []);
  });
});
