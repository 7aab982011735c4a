import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { contractLockTtlMs, contractRetentionMs, idempotencyStoreContract } from './idempotency-store.contract.ts';
import { RedisIdempotencyStore } from './redis-idempotency-store.ts';

const redisUrl = process.env.REDIS_URL;

if (!redisUrl) {
  describe('RedisIdempotencyStore', { skip: 'REDIS_URL is not set (e.g. REDIS_URL=redis://127.0.0.1:6379): Redis tests skipped' }, () => {
    it('runs the idempotency-store contract against Redis', () => {});
  });
} else {
  const url = redisUrl;
  // Every run writes under its own prefix, so parallel runs and other users of this Redis never meet.
  const keyPrefix = `carshare:test:idempotency:${randomUUID()}:`;
  let redis: Redis;
  const storeOn = (connection: Redis) =>
    new RedisIdempotencyStore({ redis: connection, keyPrefix, lockTtlMs: contractLockTtlMs, retentionMs: contractRetentionMs });

  before(() => {
    redis = new Redis(url, { maxRetriesPerRequest: 1 });
  });

  after(async () => {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  idempotencyStoreContract('RedisIdempotencyStore', () => storeOn(redis));

  describe('RedisIdempotencyStore', () => {
    it('lets exactly one of two instances with their own connections claim a key', async () => {
      const other = new Redis(url, { maxRetriesPerRequest: 1 });
      try {
        const now = Date.now();
        const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => storeOn(i % 2 ? redis : other).claim('shared', 'fp', now)));
        assert.equal(claims.filter((claim) => claim.outcome === 'claimed').length, 1);
      } finally {
        await other.quit();
      }
    });

    it('lets Redis collect a key a minute after it expires on the gateway clock', async () => {
      const store = storeOn(redis);
      const claim = await store.claim('ttl', 'fp', Date.now());
      assert.equal(claim.outcome, 'claimed');
      const lockTtl = await redis.pttl(`${keyPrefix}ttl`);
      assert.ok(lockTtl > contractLockTtlMs + 59_000 && lockTtl <= contractLockTtlMs + 60_000, `lock lives its time + grace, got ${lockTtl}`);
      await store.complete('ttl', claim.token, { status: 200, contentType: '', body: '' }, Date.now());
      const kept = await redis.pttl(`${keyPrefix}ttl`);
      assert.ok(kept > contractRetentionMs + 59_000 && kept <= contractRetentionMs + 60_000, `answer lives the retention + grace, got ${kept}`);
    });
  });
}
