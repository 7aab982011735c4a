import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IdempotencyStore, StoredResponse } from '../ports.ts';

export const contractLockTtlMs = 30_000;
export const contractRetentionMs = 24 * 60 * 60_000;

/**
 * Behaviour every IdempotencyStore adapter must show. `makeStore` builds one with the lock and
 * retention times above. Time is passed in, so the expiry boundaries are exact on both adapters.
 * Run by the memory test always and by the Redis test when REDIS_URL is set.
 */
export function idempotencyStoreContract(name: string, makeStore: () => IdempotencyStore): void {
  let keySeq = 0;
  const freshKey = () => `user:contract ${process.pid}-${++keySeq}`;
  const start = Date.parse('2026-03-01T10:00:00.250Z');
  const created: StoredResponse = { status: 201, contentType: 'application/json; charset=utf-8', body: '{"id":"a1","name":"Zoë ✓"}' };

  describe(`${name}: IdempotencyStore contract`, () => {
    it('gives a free key to its first claimant and reports it in flight to the next', async () => {
      const store = makeStore();
      const key = freshKey();
      const first = await store.claim(key, 'fp-1', start);
      assert.equal(first.outcome, 'claimed');
      assert.deepEqual(await store.claim(key, 'fp-1', start + 1), { outcome: 'in-flight', fingerprint: 'fp-1' });
      assert.deepEqual(await store.claim(key, 'fp-2', start + 1), { outcome: 'in-flight', fingerprint: 'fp-1' }, 'the first fingerprint is reported');
    });

    it('lets exactly one of many concurrent claims on a free key win', async () => {
      const store = makeStore();
      const key = freshKey();
      const claims = await Promise.all(Array.from({ length: 25 }, () => store.claim(key, 'fp', start)));
      assert.equal(claims.filter((claim) => claim.outcome === 'claimed').length, 1);
      assert.equal(claims.filter((claim) => claim.outcome === 'in-flight').length, 24);
    });

    it('replays the completed answer, byte for byte, with the fingerprint it was made for', async () => {
      const store = makeStore();
      const key = freshKey();
      const claim = await store.claim(key, 'fp-1', start);
      assert.equal(claim.outcome, 'claimed');
      assert.equal(await store.complete(key, claim.token, created, start + 5), true);
      assert.deepEqual(await store.claim(key, 'fp-1', start + 10), { outcome: 'completed', fingerprint: 'fp-1', response: created });
      assert.deepEqual(await store.claim(key, 'fp-other', start + 10), { outcome: 'completed', fingerprint: 'fp-1', response: created });
    });

    it('keeps an empty body and an absent content type as they were', async () => {
      const store = makeStore();
      const key = freshKey();
      const claim = await store.claim(key, 'fp', start);
      assert.equal(claim.outcome, 'claimed');
      const noContent: StoredResponse = { status: 204, contentType: '', body: '' };
      await store.complete(key, claim.token, noContent, start);
      assert.deepEqual(await store.claim(key, 'fp', start), { outcome: 'completed', fingerprint: 'fp', response: noContent });
    });

    it('frees a released key for the next claim', async () => {
      const store = makeStore();
      const key = freshKey();
      const claim = await store.claim(key, 'fp', start);
      assert.equal(claim.outcome, 'claimed');
      assert.equal(await store.release(key, claim.token), true);
      const again = await store.claim(key, 'fp', start + 1);
      assert.equal(again.outcome, 'claimed');
      assert.notEqual(again.token, claim.token);
    });

    it('settles a key only with the token of its current lock', async () => {
      const store = makeStore();
      const key = freshKey();
      const claim = await store.claim(key, 'fp', start);
      assert.equal(claim.outcome, 'claimed');
      assert.equal(await store.complete(key, 'not-the-token', created, start), false);
      assert.equal(await store.release(key, 'not-the-token'), false);
      assert.deepEqual(await store.claim(key, 'fp', start), { outcome: 'in-flight', fingerprint: 'fp' });
      assert.equal(await store.complete(key, claim.token, created, start), true);
      assert.equal(await store.release(key, claim.token), false, 'a completed answer is not released');
      assert.equal(await store.complete(freshKey(), claim.token, created, start), false, 'nothing to complete on a free key');
    });

    it('lets a lock expire after the lock time, so a crashed request does not hold its key', async () => {
      const store = makeStore();
      const key = freshKey();
      const crashed = await store.claim(key, 'fp', start);
      assert.equal(crashed.outcome, 'claimed');
      assert.equal((await store.claim(key, 'fp', start + contractLockTtlMs - 1)).outcome, 'in-flight', '1 ms before');
      const takeover = await store.claim(key, 'fp', start + contractLockTtlMs);
      assert.equal(takeover.outcome, 'claimed', 'at the lock time');
      assert.equal(await store.complete(key, crashed.token, created, start + contractLockTtlMs), false, 'the late first request cannot overwrite');
      assert.equal(await store.release(key, crashed.token), false);
      assert.deepEqual(await store.claim(key, 'fp', start + contractLockTtlMs + 1), { outcome: 'in-flight', fingerprint: 'fp' });
    });

    it('still takes the answer of a request that outlived its lock when nobody took the key over', async () => {
      const store = makeStore();
      const key = freshKey();
      const slow = await store.claim(key, 'fp', start);
      assert.equal(slow.outcome, 'claimed');
      assert.equal(await store.complete(key, slow.token, created, start + contractLockTtlMs + 5), true);
      assert.equal((await store.claim(key, 'fp', start + contractLockTtlMs + 6)).outcome, 'completed');
    });

    it('replays an answer for the retention time and forgets it then', async () => {
      const store = makeStore();
      const key = freshKey();
      const claim = await store.claim(key, 'fp', start);
      assert.equal(claim.outcome, 'claimed');
      await store.complete(key, claim.token, created, start + 100);
      assert.equal((await store.claim(key, 'fp', start + 100 + contractRetentionMs - 1)).outcome, 'completed', '1 ms before');
      assert.equal((await store.claim(key, 'fp', start + 100 + contractRetentionMs)).outcome, 'claimed', 'at the retention time');
    });

    it('keeps keys apart', async () => {
      const store = makeStore();
      const [one, two] = [freshKey(), freshKey()];
      assert.equal((await store.claim(one, 'fp', start)).outcome, 'claimed');
      assert.equal((await store.claim(two, 'fp', start)).outcome, 'claimed');
    });
  });
}
