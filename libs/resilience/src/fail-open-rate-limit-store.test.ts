import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it, mock } from 'node:test';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { FailOpenRateLimitStore } from './fail-open-rate-limit-store.ts';
import { MemoryRateLimitStore } from './memory-rate-limit-store.ts';
import type { RateLimitDecision, RateLimitRule, RateLimitStore } from './rate-limit-store.ts';
import { recordingLogger } from './recording-logger.ts';
import { RedisRateLimitStore } from './redis-rate-limit-store.ts';

const rule: RateLimitRule = { algorithm: 'gcra', limit: 2, windowMs: 1_000 };
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

async function metric(registry: Registry, name: string): Promise<number> {
  const found = registry.getSingleMetric(name);
  assert.ok(found);
  return (await found.get()).values.find((value) => value.labels.store === 'redis')?.value ?? 0;
}

/** A port nothing listens on: bind, note the port, close. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A primary the test switches between healthy, failing and hanging. */
function switchablePrimary() {
  const healthy = new MemoryRateLimitStore();
  const state = { mode: 'up' as 'up' | 'down' | 'hang', calls: 0 };
  const store: RateLimitStore = {
    consume(key, r, cost, nowMs): Promise<RateLimitDecision> {
      state.calls++;
      if (state.mode === 'down') return Promise.reject(new Error('connect ECONNREFUSED'));
      if (state.mode === 'hang') return new Promise(() => {});
      return healthy.consume(key, r, cost, nowMs);
    },
  };
  return { store, state };
}

describe('FailOpenRateLimitStore', () => {
  afterEach(() => mock.timers.reset());

  it('limits locally when Redis is unreachable, and says so once', async () => {
    const redis = new Redis({ host: '127.0.0.1', port: await closedPort(), lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    redis.on('error', () => {});
    const registry = new Registry();
    const logger = recordingLogger();
    const store = new FailOpenRateLimitStore({ primary: new RedisRateLimitStore({ redis }), registry, logger, probeIntervalMs: 10_000 });
    try {
      const decisions = [];
      for (let i = 0; i < 3; i++) decisions.push(await store.consume('rider-1', rule, 1, 1_000));
      assert.deepEqual(
        decisions.map((d) => d.allowed),
        [true, true, false],
        'the local limiter still enforces the rule',
      );
      assert.equal(store.degraded, true);
      assert.equal(await metric(registry, 'carshare_rate_limit_fallback_total'), 3);
      assert.equal(await metric(registry, 'carshare_rate_limit_store_degraded'), 1);
      assert.equal(logger.lines.length, 1);
      assert.equal(logger.lines[0]!.level, 'warn');
    } finally {
      redis.disconnect();
    }
  });

  it('stays local between probes, probes once per interval, and logs the recovery once', async () => {
    const { store: primary, state } = switchablePrimary();
    const registry = new Registry();
    const logger = recordingLogger();
    const store = new FailOpenRateLimitStore({ primary, registry, logger, probeIntervalMs: 1_000 });

    state.mode = 'down';
    await store.consume('k', rule, 1, 10_000);
    assert.equal(state.calls, 1);
    await store.consume('k', rule, 1, 10_999);
    assert.equal(state.calls, 1, 'no call to the primary before the probe interval');
    await store.consume('k', rule, 1, 11_000);
    assert.equal(state.calls, 2, 'one probe at the interval');
    assert.equal(logger.lines.length, 1, 'a failed probe does not log again');

    state.mode = 'up';
    await store.consume('k', rule, 1, 11_500);
    assert.equal(state.calls, 2);
    const recovered = await store.consume('k', rule, 1, 12_000);
    assert.equal(state.calls, 3);
    assert.equal(recovered.allowed, true);
    assert.equal(store.degraded, false);
    assert.equal(await metric(registry, 'carshare_rate_limit_store_degraded'), 0);
    await store.consume('k', rule, 1, 12_001);
    assert.equal(state.calls, 4, 'back to the primary for every call');
    assert.deepEqual(
      logger.lines.map((line) => line.level),
      ['warn', 'info'],
    );
    assert.equal(await metric(registry, 'carshare_rate_limit_fallback_total'), 4, 'every local decision is counted');
  });

  it('decides locally when the primary is slower than the timeout', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    const { store: primary, state } = switchablePrimary();
    const store = new FailOpenRateLimitStore({ primary, timeoutMs: 50 });
    state.mode = 'hang';
    let decided: RateLimitDecision | undefined;
    const decision = () => decided;
    const pending = store.consume('k', rule, 1, 0).then((value) => (decided = value));
    await flush();
    mock.timers.tick(49);
    await flush();
    assert.equal(decision(), undefined, 'still waiting 1 ms before the timeout');
    mock.timers.tick(1);
    await pending;
    assert.equal(decision()?.allowed, true);
    assert.equal(store.degraded, true);
  });

  it('sends only one probe while others keep deciding locally', async () => {
    let failing = true;
    let primaryCalls = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const healthy = new MemoryRateLimitStore();
    const primary: RateLimitStore = {
      async consume(key, r, cost, nowMs) {
        primaryCalls++;
        if (failing) throw new Error('down');
        await gate;
        return healthy.consume(key, r, cost, nowMs);
      },
    };
    const store = new FailOpenRateLimitStore({ primary, probeIntervalMs: 1_000 });
    await store.consume('k', rule, 1, 0);
    failing = false;
    const probe = store.consume('k', rule, 1, 1_000);
    await store.consume('k', rule, 1, 1_001);
    await store.consume('k', rule, 1, 1_002);
    assert.equal(primaryCalls, 2, 'the first failure and the one probe');
    release();
    await probe;
    assert.equal(store.degraded, false);
  });
});
