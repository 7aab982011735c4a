import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { MemoryRateLimitStore } from './memory-rate-limit-store.ts';
import { rateLimitStoreContract } from './rate-limit-store.contract.ts';
import type { RateLimitRule } from './rate-limit-store.ts';
import { RedisLuaScript } from './redis-lua-script.ts';
import { RedisRateLimitStore } from './redis-rate-limit-store.ts';

const redisUrl = process.env.REDIS_URL;

if (!redisUrl) {
  describe('RedisRateLimitStore', { skip: 'REDIS_URL is not set (e.g. REDIS_URL=redis://127.0.0.1:6379): Redis tests skipped' }, () => {
    it('runs the rate-limit contract against Redis', () => {});
  });
} else {
  const url = redisUrl;
  // Every run writes under its own prefix, so parallel runs and other users of this Redis never meet.
  const keyPrefix = `carshare:test:rate-limit:${randomUUID()}:`;
  let redis: Redis;

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

  rateLimitStoreContract('RedisRateLimitStore', () => new RedisRateLimitStore({ redis, keyPrefix }), { propertyRuns: 40 });

  describe('RedisRateLimitStore', () => {
    it('makes the same decisions as the TypeScript algorithms, step for step, denials included', async (t) => {
      const store = new RedisRateLimitStore({ redis, keyPrefix });
      const memory = new MemoryRateLimitStore();
      const rules: RateLimitRule[] = [
        { algorithm: 'gcra', limit: 7, windowMs: 1_000, burst: 3 },
        { algorithm: 'gcra', limit: 100, windowMs: 60_000 },
        { algorithm: 'sliding-window', limit: 7, windowMs: 1_000 },
        { algorithm: 'sliding-window', limit: 100, windowMs: 60_000 },
      ];
      // a real epoch timestamp: the µs arithmetic must survive 16-digit numbers in Lua
      let now = Date.parse('2026-03-01T10:00:00.123Z');
      let seed = 7;
      const random = () => ((seed = (Math.imul(seed, 1_664_525) + 1_013_904_223) >>> 0) / 2 ** 32);
      const outcomes = new Map<string, { allowed: number; denied: number }>(rules.map((rule) => [rule.algorithm, { allowed: 0, denied: 0 }]));
      for (let step = 0; step < 800; step++) {
        const rule = rules[step % rules.length]!;
        // Calls come faster than every rule allows (0–40 ms apart: 4 % of the short windows), so
        // both stores spend their allowance and must refuse; a 1 s pause now and then lets the
        // short windows recover. One clock for all keys, as in production (the memory store
        // sweeps expired keys by it).
        now += step % 97 === 0 ? 1_000 : Math.floor(random() * 40);
        const cost = 1 + Math.floor(random() * 3);
        const key = `agree-${step % rules.length}`;
        const expected = await memory.consume(key, rule, cost, now);
        assert.deepEqual(await store.consume(key, rule, cost, now), expected, `step ${step}`);
        const tally = outcomes.get(rule.algorithm)!;
        if (expected.allowed) tally.allowed += 1;
        else tally.denied += 1;
      }
      // Agreement on allowed steps alone would pass with either deny branch removed.
      for (const [algorithm, tally] of outcomes) {
        assert.ok(tally.denied >= 100, `${algorithm}: ${tally.denied} denials compared (want ≥ 100)`);
        assert.ok(tally.allowed >= 50, `${algorithm}: ${tally.allowed} allowed compared (want ≥ 50)`);
        t.diagnostic(`${algorithm}: ${tally.allowed} allowed, ${tally.denied} denied, identical in both stores`);
      }
    });

    it('shares counters between instances with their own connections', async () => {
      const other = new Redis(url, { maxRetriesPerRequest: 1 });
      try {
        const rule: RateLimitRule = { algorithm: 'sliding-window', limit: 5, windowMs: 60_000 };
        const one = new RedisRateLimitStore({ redis, keyPrefix });
        const two = new RedisRateLimitStore({ redis: other, keyPrefix });
        const now = Date.parse('2026-03-01T10:00:00.000Z');
        for (let i = 0; i < 5; i++) assert.equal((await (i % 2 ? one : two).consume('shared', rule, 1, now)).allowed, true);
        assert.equal((await one.consume('shared', rule, 1, now)).allowed, false);
        assert.equal((await two.consume('shared', rule, 1, now)).allowed, false);
      } finally {
        await other.quit();
      }
    });

    it('lets Redis expire keys once their state has decayed', async () => {
      const store = new RedisRateLimitStore({ redis, keyPrefix });
      const now = Date.parse('2026-03-01T10:00:00.250Z');
      await store.consume('ttl', { algorithm: 'gcra', limit: 10, windowMs: 1_000 }, 4, now);
      await store.consume('ttl', { algorithm: 'sliding-window', limit: 10, windowMs: 1_000 }, 1, now);
      const gcraTtl = await redis.pttl(`${keyPrefix}gcra:ttl`);
      const windowTtl = await redis.pttl(`${keyPrefix}sliding-window:ttl`);
      // decay time on the caller's clock plus the 1 s grace for clock skew
      assert.ok(gcraTtl > 1_300 && gcraTtl <= 1_400, `gcra key lives until its TAT (400 ms) + grace, got ${gcraTtl}`);
      assert.ok(windowTtl > 2_650 && windowTtl <= 2_750, `window key lives two windows from its start + grace, got ${windowTtl}`);
    });
  });

  describe('RedisLuaScript', () => {
    it('loads a script Redis does not know yet and then calls it by SHA', async () => {
      // a body no one has loaded: the first EVALSHA must meet NOSCRIPT
      const script = new RedisLuaScript(`-- ${randomUUID()}\nreturn ARGV[1] + 1`);
      assert.deepEqual(await redis.script('EXISTS', script.sha), [0]);
      assert.equal(await script.run(redis, [], [41]), 42);
      assert.deepEqual(await redis.script('EXISTS', script.sha), [1]);
      assert.equal(await script.run(redis, [], [1]), 2);
    });

    it('passes other script errors through', async () => {
      const script = new RedisLuaScript(`-- ${randomUUID()}\nreturn redis.error_reply('BOOM')`);
      await assert.rejects(script.run(redis, [], []), /BOOM/);
    });
  });
}
