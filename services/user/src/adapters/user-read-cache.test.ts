import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '@carshare/testing';
import type { User } from '../domain/user.ts';
import { UserReadCache } from './user-read-cache.ts';

function userNamed(id: string, displayName: string): User {
  return { id, email: `${id}@example.com`, displayName, role: 'rider', plan: 'free', status: 'active', suspendedReason: undefined, emailVerified: true, createdAt: 0 };
}

/** A store whose reads are counted and can be held open, to interleave them with writes. */
class ControllableStore {
  readonly rows = new Map<string, User>();
  reads = 0;
  #held: Array<() => void> | undefined;

  hold(): void {
    this.#held = [];
  }

  releaseAll(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const release of held) release();
  }

  async findById(id: string): Promise<User | undefined> {
    this.reads++;
    const row = this.rows.get(id);
    const snapshot = row ? { ...row } : undefined;
    if (this.#held) await new Promise<void>((resolve) => this.#held?.push(resolve));
    return snapshot;
  }
}

function setUp(options: { ttlMs?: number; maxEntries?: number } = {}) {
  const clock = new FakeClock('2026-03-01T08:00:00Z');
  const store = new ControllableStore();
  const lookups: string[] = [];
  const cache = new UserReadCache(store, clock, {
    ttlMs: options.ttlMs ?? 5_000,
    maxEntries: options.maxEntries ?? 100,
    onLookup: (result) => lookups.push(result),
  });
  return { clock, store, cache, lookups };
}

describe('UserReadCache', () => {
  it('answers from memory until the entry is ttl old, then reads again', async () => {
    const { clock, store, cache, lookups } = setUp({ ttlMs: 5_000 });
    store.rows.set('u1', userNamed('u1', 'Ada'));
    await cache.findById('u1');
    store.rows.set('u1', userNamed('u1', 'Ada Lovelace'));
    clock.advance(4_999);
    assert.equal((await cache.findById('u1'))?.displayName, 'Ada');
    clock.advance(1);
    assert.equal((await cache.findById('u1'))?.displayName, 'Ada Lovelace');
    assert.equal(store.reads, 2);
    assert.deepEqual(lookups, ['miss', 'hit', 'miss']);
  });

  it('shows a committed write at once once told of it', async () => {
    const { store, cache } = setUp();
    store.rows.set('u1', userNamed('u1', 'Ada'));
    await cache.findById('u1');
    store.rows.set('u1', { ...userNamed('u1', 'Ada'), status: 'suspended' });
    cache.forget(['u1']);
    assert.equal((await cache.findById('u1'))?.status, 'suspended');
  });

  it('does not keep a row read before a write that finished while the read was under way', async () => {
    const { store, cache } = setUp();
    store.rows.set('u1', userNamed('u1', 'Ada'));
    store.hold();
    const slowRead = cache.findById('u1');
    store.rows.set('u1', { ...userNamed('u1', 'Ada'), status: 'suspended' });
    cache.forget(['u1']);
    store.releaseAll();
    assert.equal((await slowRead)?.status, 'active', 'the read itself answers what it saw');
    assert.equal((await cache.findById('u1'))?.status, 'suspended', 'but the cache did not keep it');
  });

  it('shares one read between concurrent misses for the same user', async () => {
    const { store, cache } = setUp();
    store.rows.set('u1', userNamed('u1', 'Ada'));
    store.hold();
    const reads = [cache.findById('u1'), cache.findById('u1'), cache.findById('u1')];
    store.releaseAll();
    const answers = await Promise.all(reads);
    assert.equal(store.reads, 1);
    assert.deepEqual(answers.map((user) => user?.displayName), ['Ada', 'Ada', 'Ada']);
  });

  it('does not remember users that do not exist, so a new account is found at once', async () => {
    const { store, cache } = setUp();
    assert.equal(await cache.findById('u1'), undefined);
    store.rows.set('u1', userNamed('u1', 'Ada'));
    assert.equal((await cache.findById('u1'))?.displayName, 'Ada');
  });

  it('keeps at most maxEntries users, dropping the one loaded longest ago', async () => {
    const { store, cache } = setUp({ maxEntries: 2 });
    for (const id of ['u1', 'u2', 'u3']) store.rows.set(id, userNamed(id, id));
    await cache.findById('u1');
    await cache.findById('u2');
    await cache.findById('u3');
    assert.equal(cache.size, 2);
    const readsBefore = store.reads;
    await cache.findById('u3');
    await cache.findById('u2');
    assert.equal(store.reads, readsBefore, 'u2 and u3 stayed');
    await cache.findById('u1');
    assert.equal(store.reads, readsBefore + 1, 'u1 was dropped');
  });

  it('reads through on every call when the ttl is 0', async () => {
    const { store, cache } = setUp({ ttlMs: 0 });
    store.rows.set('u1', userNamed('u1', 'Ada'));
    await cache.findById('u1');
    await cache.findById('u1');
    assert.equal(store.reads, 2);
    assert.equal(cache.size, 0);
  });
});
