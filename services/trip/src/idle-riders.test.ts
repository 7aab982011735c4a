import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '@carshare/testing';
import { IdleRiders } from './idle-riders.ts';

describe('IdleRiders', () => {
  it('remembers a rider with nothing for the ttl, and forgets at once when told', () => {
    const clock = new FakeClock('2026-12-04T10:00:00.000Z');
    const idle = new IdleRiders({ ttlMs: 2_000, maxEntries: 10, now: () => clock.now() });
    idle.remember('a', idle.ticket());
    assert.equal(idle.isIdle('a'), true);
    clock.advance(1_999);
    assert.equal(idle.isIdle('a'), true);
    clock.advance(1);
    assert.equal(idle.isIdle('a'), false, 'another instance may have written since');
    idle.remember('a', idle.ticket());
    idle.forget('a');
    assert.equal(idle.isIdle('a'), false, 'a reservation made here shows at once');
  });

  it('does not keep a "nothing" read while somebody reserved or started a trip', () => {
    const idle = new IdleRiders({ ttlMs: 2_000, maxEntries: 10, now: () => 0 });
    const ticket = idle.ticket();
    idle.forget('a');
    idle.remember('a', ticket);
    assert.equal(idle.isIdle('a'), false);
  });

  it('holds at most maxEntries riders, the oldest leaving first', () => {
    const idle = new IdleRiders({ ttlMs: 2_000, maxEntries: 2, now: () => 0 });
    for (const rider of ['a', 'b', 'c']) idle.remember(rider, idle.ticket());
    assert.deepEqual(['a', 'b', 'c'].map((rider) => idle.isIdle(rider)), [false, true, true]);
  });
});
