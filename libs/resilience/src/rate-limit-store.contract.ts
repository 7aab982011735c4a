import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '@carshare/testing';
import { createRateLimiter } from './rate-limiter.ts';
import type { RateLimitDecision, RateLimitRule, RateLimitStore } from './rate-limit-store.ts';

/**
 * Behaviour every RateLimitStore adapter must show, on a fake clock. Run by the memory test
 * always and by the Redis test when REDIS_URL is set, so the Lua scripts are held to the same
 * boundaries as the TypeScript.
 */
export function rateLimitStoreContract(name: string, getStore: () => RateLimitStore, options: { propertyRuns?: number } = {}): void {
  let keySeq = 0;
  const freshKey = () => `contract-${++keySeq}`;

  function limiterAt(start = Date.parse('2026-03-01T10:00:00.250Z')) {
    const clock = new FakeClock(start);
    return { clock, limiter: createRateLimiter({ store: getStore(), clock }) };
  }

  async function spend(limiter: ReturnType<typeof limiterAt>['limiter'], key: string, rule: RateLimitRule, times: number) {
    const decisions: RateLimitDecision[] = [];
    for (let i = 0; i < times; i++) decisions.push(await limiter.consume(key, rule));
    return decisions;
  }

  describe(`${name}: GCRA`, () => {
    const rule: RateLimitRule = { algorithm: 'gcra', limit: 10, windowMs: 1_000 };

    it('allows the Nth request of a burst, denies the N+1th, and allows one again exactly one interval later', async () => {
      const { clock, limiter } = limiterAt();
      const key = freshKey();
      const burst = await spend(limiter, key, rule, 10);
      assert.ok(burst.every((d) => d.allowed), 'all 10 of the burst');
      const denied = await limiter.consume(key, rule);
      assert.equal(denied.allowed, false);
      assert.equal(denied.retryAfterMs, 100, '1000 ms / 10');
      clock.advance(99);
      assert.equal((await limiter.consume(key, rule)).allowed, false, '1 ms before the interval');
      clock.advance(1);
      assert.equal((await limiter.consume(key, rule)).allowed, true, 'exactly at the interval');
      assert.equal((await limiter.consume(key, rule)).allowed, false, 'and only one');
    });

    it('counts remaining down to 0 and reports when the bucket is full again', async () => {
      const { limiter } = limiterAt();
      const key = freshKey();
      const decisions = await spend(limiter, key, rule, 11);
      assert.deepEqual(
        decisions.map((d) => d.remaining),
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0],
      );
      assert.deepEqual(
        decisions.map((d) => d.resetMs),
        [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1000],
      );
      assert.ok(decisions.every((d) => d.limit === 10));
      assert.deepEqual(
        decisions.map((d) => d.retryAfterMs),
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100],
      );
    });

    it('refills one token per interval and is full again exactly at resetMs', async () => {
      const { clock, limiter } = limiterAt();
      const key = freshKey();
      await spend(limiter, key, rule, 10);
      clock.advance(350);
      const afterRefill = await limiter.consume(key, rule);
      assert.equal(afterRefill.remaining, 2, '3 tokens back after 350 ms, one spent now');
      clock.advance(afterRefill.resetMs - 1);
      assert.equal((await spend(limiter, key, rule, 10)).filter((d) => d.allowed).length, 9, '1 ms before reset: not full');
      const other = freshKey();
      await spend(limiter, other, rule, 10);
      clock.advance(1_000);
      assert.equal((await spend(limiter, other, rule, 10)).filter((d) => d.allowed).length, 10, 'at reset: full');
    });

    it('lets burst differ from the rate', async () => {
      const { clock, limiter } = limiterAt();
      const key = freshKey();
      const bursty: RateLimitRule = { algorithm: 'gcra', limit: 10, windowMs: 1_000, burst: 3 };
      const decisions = await spend(limiter, key, bursty, 4);
      assert.deepEqual(
        decisions.map((d) => [d.allowed, d.remaining, d.limit]),
        [
          [true, 2, 3],
          [true, 1, 3],
          [true, 0, 3],
          [false, 0, 3],
        ],
      );
      clock.advance(100);
      assert.equal((await limiter.consume(key, bursty)).allowed, true);
    });

    it('charges the cost and tells how long until the whole cost fits', async () => {
      const { clock, limiter } = limiterAt();
      const key = freshKey();
      assert.equal((await limiter.consume(key, rule, 8)).remaining, 2);
      const denied = await limiter.consume(key, rule, 5);
      assert.equal(denied.allowed, false);
      assert.equal(denied.remaining, 2, 'a denied request spends nothing');
      assert.equal(denied.retryAfterMs, 300);
      clock.advance(299);
      assert.equal((await limiter.consume(key, rule, 5)).allowed, false);
      clock.advance(1);
      assert.equal((await limiter.consume(key, rule, 5)).allowed, true);
    });

    it('never exceeds the limit when the interval is not a whole number of ms', async () => {
      const { clock, limiter } = limiterAt();
      const key = freshKey();
      const thirds: RateLimitRule = { algorithm: 'gcra', limit: 3, windowMs: 1_000 };
      await spend(limiter, key, thirds, 3);
      const denied = await limiter.consume(key, thirds);
      assert.equal(denied.retryAfterMs, 334, '333.334 ms rounded up');
      clock.advance(333);
      assert.equal((await limiter.consume(key, thirds)).allowed, false);
      clock.advance(1);
      assert.equal((await limiter.consume(key, thirds)).allowed, true);
    });

    it('keeps keys apart', async () => {
      const { limiter } = limiterAt();
      const [a, b] = [freshKey(), freshKey()];
      await spend(limiter, a, rule, 10);
      assert.equal((await limiter.consume(b, rule)).allowed, true);
    });
  });

  describe(`${name}: sliding window`, () => {
    const rule: RateLimitRule = { algorithm: 'sliding-window', limit: 5, windowMs: 1_000 };

    it('allows the Nth request in a window, denies the N+1th, and allows again exactly at retryAfterMs', async () => {
      // 10:00:00.000: the start of a window
      const { clock, limiter } = limiterAt(Date.parse('2026-03-01T10:00:00.000Z'));
      const key = freshKey();
      const decisions = await spend(limiter, key, rule, 6);
      assert.deepEqual(
        decisions.map((d) => d.allowed),
        [true, true, true, true, true, false],
      );
      // 5 counted at the very start of the window weigh 5 × (1000 − e)/1000 in the next one:
      // one more fits once e ≥ 200 ms, i.e. 1200 ms from now
      assert.equal(decisions[5]!.retryAfterMs, 1_200);
      clock.advance(1_000);
      assert.equal((await limiter.consume(key, rule)).allowed, false, 'a full window later the old ones still weigh 5');
      clock.advance(199);
      assert.equal((await limiter.consume(key, rule)).allowed, false, '1 ms before');
      clock.advance(1);
      assert.equal((await limiter.consume(key, rule)).allowed, true, 'exactly at retryAfterMs');
    });

    it('allows a full window again after two windows with nothing in them', async () => {
      const { clock, limiter } = limiterAt(Date.parse('2026-03-01T10:00:00.000Z'));
      const key = freshKey();
      const [first] = await spend(limiter, key, rule, 5);
      assert.equal(first!.resetMs, 2_000, 'the count leaves the sliding window after two fixed windows');
      clock.advance(1_999);
      assert.equal((await spend(limiter, key, rule, 5)).filter((d) => d.allowed).length, 4, '1 ms before reset');
      const other = freshKey();
      await spend(limiter, other, rule, 5);
      clock.advance(2_000);
      assert.equal((await spend(limiter, other, rule, 5)).filter((d) => d.allowed).length, 5);
    });

    it('counts remaining down to 0 and weighs the previous window by its overlap', async () => {
      const { clock, limiter } = limiterAt(Date.parse('2026-03-01T10:00:00.000Z'));
      const key = freshKey();
      const decisions = await spend(limiter, key, rule, 6);
      assert.deepEqual(
        decisions.map((d) => [d.remaining, d.limit, d.resetMs]),
        [
          [4, 5, 2_000],
          [3, 5, 2_000],
          [2, 5, 2_000],
          [1, 5, 2_000],
          [0, 5, 2_000],
          [0, 5, 2_000],
        ],
      );
      clock.advance(1_600); // 60 % into the next window: the 5 weigh 2
      const next = await limiter.consume(key, rule);
      assert.deepEqual([next.allowed, next.remaining, next.resetMs], [true, 2, 1_400]);
    });

    it('denies a cost that does not fit even though smaller ones would', async () => {
      const { limiter } = limiterAt(Date.parse('2026-03-01T10:00:00.000Z'));
      const key = freshKey();
      await limiter.consume(key, rule, 3);
      const denied = await limiter.consume(key, rule, 3);
      assert.deepEqual([denied.allowed, denied.remaining], [false, 2]);
      assert.equal((await limiter.consume(key, rule, 2)).allowed, true);
    });

    it('keeps keys apart and keeps algorithms apart on the same key', async () => {
      const { limiter } = limiterAt();
      const key = freshKey();
      await spend(limiter, key, rule, 5);
      assert.equal((await limiter.consume(freshKey(), rule)).allowed, true);
      assert.equal((await limiter.consume(key, { algorithm: 'gcra', limit: 5, windowMs: 1_000 })).allowed, true);
    });
  });

  describe(`${name}: every decision is exact`, () => {
    // Seeded so a failure is reproducible; small limits and windows reach every branch.
    function seeded(seed: number): () => number {
      let state = seed >>> 0;
      return () => {
        state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
        return state / 2 ** 32;
      };
    }

    const rules: RateLimitRule[] = [
      { algorithm: 'gcra', limit: 1, windowMs: 7 },
      { algorithm: 'gcra', limit: 3, windowMs: 10 },
      { algorithm: 'gcra', limit: 4, windowMs: 9, burst: 2 },
      { algorithm: 'gcra', limit: 2, windowMs: 5, burst: 5 },
      { algorithm: 'sliding-window', limit: 1, windowMs: 7 },
      { algorithm: 'sliding-window', limit: 3, windowMs: 10 },
      { algorithm: 'sliding-window', limit: 5, windowMs: 6 },
    ];

    for (const rule of rules) {
      it(`${rule.algorithm} limit ${rule.limit}/${rule.windowMs} ms burst ${rule.burst ?? '-'}: retryAfterMs, remaining and resetMs are exact`, async () => {
        const store = getStore();
        const random = seeded(rule.limit * 1_000 + rule.windowMs);
        const capacity = rule.burst ?? rule.limit;
        const probe = (key: string, cost: number, at: number) => store.consume(key, rule, cost, at);
        const runs = options.propertyRuns ?? 60;
        for (let run = 0; run < runs; run++) {
          // The same random history on three keys: probing one must not disturb the next check.
          const [a, b, c] = [freshKey(), freshKey(), freshKey()];
          let now = 1_000_000 + Math.floor(random() * rule.windowMs);
          const steps = 1 + Math.floor(random() * 6);
          let last: RateLimitDecision | undefined;
          let lastCost = 1;
          for (let step = 0; step < steps; step++) {
            now += Math.floor(random() * rule.windowMs * 0.6);
            lastCost = 1 + Math.floor(random() * capacity);
            last = await probe(a, lastCost, now);
            assert.deepEqual(await probe(b, lastCost, now), last);
            assert.deepEqual(await probe(c, lastCost, now), last);
          }
          assert.ok(last);
          const where = `(run ${run}, decision ${JSON.stringify(last)} at ${now})`;
          if (!last.allowed) {
            assert.ok(last.retryAfterMs >= 1, `a denial always says when ${where}`);
            assert.equal((await probe(a, lastCost, now + last.retryAfterMs - 1)).allowed, false, `denied 1 ms before retryAfterMs ${where}`);
            assert.equal((await probe(a, lastCost, now + last.retryAfterMs)).allowed, true, `allowed at retryAfterMs ${where}`);
          } else {
            assert.equal(last.retryAfterMs, 0);
            for (let i = 0; i < last.remaining; i++) {
              assert.equal((await probe(a, 1, now)).allowed, true, `request ${i + 1} of remaining allowed ${where}`);
            }
            assert.equal((await probe(a, 1, now)).allowed, false, `nothing beyond remaining ${where}`);
          }
          assert.ok(last.resetMs >= 1, `state was written, so something has to decay ${where}`);
          assert.equal((await probe(b, capacity, now + last.resetMs)).allowed, true, `full capacity at resetMs ${where}`);
          assert.equal((await probe(c, capacity, now + last.resetMs - 1)).allowed, false, `not full 1 ms before resetMs ${where}`);
        }
      });
    }
  });
}
