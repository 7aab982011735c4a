import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { AppError, Internal, InvalidArgument, NotFound, Unavailable } from '@carshare/platform';
import { Registry } from 'prom-client';
import { createDownstreamPolicy } from './downstream-policy.ts';
import type { DownstreamPolicy } from './downstream-policy.ts';
import type { DownstreamSettingsOverrides } from './downstream-settings.ts';
import { recordingLogger } from './recording-logger.ts';

// cockatiel reads Date.now() for the breaker cooldown and our backoff uses the global setTimeout:
// both are node:test mock timers here, so no test waits on real time.
const start = Date.parse('2026-01-01T00:00:00.000Z');
const farDeadline = start + 3_600_000;
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name);
  assert.ok(metric, `metric ${name} is registered`);
  const { values } = await metric.get();
  const found = values.find((value) => Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted));
  return found?.value ?? 0;
}

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the call to fail');
}

interface Harness {
  policy: DownstreamPolicy;
  registry: Registry;
  logger: ReturnType<typeof recordingLogger>;
  calls: number;
  run(outcome: () => Promise<unknown>, options?: { idempotent?: boolean; deadline?: number; signal?: AbortSignal }): Promise<unknown>;
}

function harness(settings: DownstreamSettingsOverrides): Harness {
  const registry = new Registry();
  const logger = recordingLogger();
  const policy = createDownstreamPolicy('car', settings, { registry, logger, random: () => 0 });
  const h: Harness = {
    policy,
    registry,
    logger,
    calls: 0,
    run(outcome, options = {}) {
      return policy.execute(
        () => {
          h.calls++;
          return outcome();
        },
        {
          idempotent: options.idempotent ?? false,
          deadline: options.deadline ?? farDeadline,
          signal: options.signal ?? new AbortController().signal,
        },
      );
    },
  };
  return h;
}

const ok = () => Promise.resolve('ok');
const unavailable = () => Promise.reject(Unavailable('CAR_DOWN', 'car service down'));
const notFound = () => Promise.reject(NotFound('CAR_NOT_FOUND', 'no such car'));

const breakerOnly: DownstreamSettingsOverrides = {
  breaker: { windowSize: 10, minimumCalls: 10, failureRatePercent: 50, cooldownMs: 1_000 },
  retry: { maxAttempts: 1 },
};

async function settleAll(h: Harness, outcomes: Array<() => Promise<unknown>>): Promise<void> {
  for (const outcome of outcomes) await h.run(outcome).catch(() => {});
}

async function openBreaker(h: Harness): Promise<void> {
  await settleAll(h, Array.from({ length: 10 }, () => unavailable));
  assert.equal(h.policy.state(), 'open');
}

describe('createDownstreamPolicy', () => {
  beforeEach(() => mock.timers.enable({ apis: ['Date', 'setTimeout'], now: start }));
  afterEach(() => mock.timers.reset());

  describe('circuit breaker', () => {
    it('opens at exactly the failure rate once the minimum number of calls is reached, not one call before', async () => {
      const h = harness(breakerOnly);
      await settleAll(h, [ok, ok, ok, ok, ok, unavailable, unavailable, unavailable, unavailable]);
      assert.equal(h.policy.state(), 'closed', '9 calls: one below the minimum');
      const tenth = await rejection(h.run(unavailable));
      assert.equal(tenth.reason, 'CAR_DOWN', 'the call that trips the breaker still reports its own error');
      assert.equal(h.policy.state(), 'open', '5 of 10 = 50 %');
    });

    it('stays closed one failure below the rate', async () => {
      const h = harness(breakerOnly);
      await settleAll(h, [ok, ok, ok, ok, ok, ok, unavailable, unavailable, unavailable, unavailable]);
      assert.equal(h.policy.state(), 'closed');
    });

    it('fails fast with CIRCUIT_OPEN and the remaining cooldown while open', async () => {
      const h = harness(breakerOnly);
      await openBreaker(h);
      mock.timers.tick(400);
      const calls = h.calls;
      const error = await rejection(h.run(ok));
      assert.equal(error.code, 'UNAVAILABLE');
      assert.equal(error.reason, 'CIRCUIT_OPEN');
      assert.deepEqual(error.details, { downstream: 'car', retryAfterMs: 600 });
      assert.equal(h.calls, calls, 'the downstream was not called');
    });

    it('never counts client faults', async () => {
      const h = harness(breakerOnly);
      await settleAll(h, Array.from({ length: 30 }, () => notFound));
      await settleAll(h, Array.from({ length: 10 }, () => () => Promise.reject(InvalidArgument('BAD', 'bad'))));
      assert.equal(h.policy.state(), 'closed');
    });

    it('counts INTERNAL and network errors', async () => {
      const h = harness(breakerOnly);
      const reset = () => Promise.reject(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      const fetchFailed = () =>
        Promise.reject(new TypeError('fetch failed', { cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) }));
      await settleAll(h, [reset, reset, reset, fetchFailed, fetchFailed, () => Promise.reject(Internal('BUG', 'bug'))]);
      await settleAll(h, [ok, ok, ok]);
      assert.equal(h.policy.state(), 'closed');
      await h.run(reset).catch(() => {});
      assert.equal(h.policy.state(), 'open', '7 of 10');
    });

    it('lets one probe through exactly when the cooldown has passed, not a millisecond before', async () => {
      const h = harness(breakerOnly);
      await openBreaker(h);
      const calls = h.calls;
      mock.timers.tick(999);
      const early = await rejection(h.run(ok));
      assert.equal(early.reason, 'CIRCUIT_OPEN');
      assert.equal(early.details.retryAfterMs, 1);
      assert.equal(h.calls, calls);

      mock.timers.tick(1);
      const probe = deferred<string>();
      const probing = h.run(() => probe.promise);
      assert.equal(h.calls, calls + 1, 'the probe reached the downstream');
      assert.equal(h.policy.state(), 'half-open');
      const concurrent = await rejection(h.run(ok));
      assert.equal(concurrent.reason, 'CIRCUIT_OPEN', 'others fail fast while the probe is out');
      assert.equal(h.calls, calls + 1);

      probe.resolve('ok');
      assert.equal(await probing, 'ok');
      assert.equal(h.policy.state(), 'closed');
      assert.equal(await h.run(ok), 'ok');
    });

    it('reopens for a full cooldown when the probe fails', async () => {
      const h = harness(breakerOnly);
      await openBreaker(h);
      mock.timers.tick(1_000);
      await rejection(h.run(unavailable));
      assert.equal(h.policy.state(), 'open');
      const error = await rejection(h.run(ok));
      assert.equal(error.details.retryAfterMs, 1_000);
    });

    it('closes after a probe answered with a client fault: the downstream is up', async () => {
      const h = harness(breakerOnly);
      await openBreaker(h);
      mock.timers.tick(1_000);
      await rejection(h.run(notFound));
      assert.equal(h.policy.state(), 'closed');
    });

    it('exports the state and each transition as metrics and logs each transition once', async () => {
      const h = harness(breakerOnly);
      const state = () => metricValue(h.registry, 'carshare_breaker_state', { downstream: 'car' });
      assert.equal(await state(), 0);
      await openBreaker(h);
      assert.equal(await state(), 1);
      await settleAll(h, [ok, ok, ok]); // fail fast: no further transitions
      mock.timers.tick(1_000);
      const probe = deferred<string>();
      const probing = h.run(() => probe.promise);
      assert.equal(await state(), 2);
      probe.resolve('ok');
      await probing;
      assert.equal(await state(), 0);

      const transitions = (from: string, to: string) =>
        metricValue(h.registry, 'carshare_breaker_transitions_total', { downstream: 'car', from, to });
      assert.equal(await transitions('closed', 'open'), 1);
      assert.equal(await transitions('open', 'half-open'), 1);
      assert.equal(await transitions('half-open', 'closed'), 1);
      assert.deepEqual(
        h.logger.lines.map((line) => [line.level, line.msg]),
        [
          ['warn', 'circuit to car opened'],
          ['info', 'circuit to car half-open, probing'],
          ['info', 'circuit to car closed'],
        ],
      );
    });
  });

  describe('retry', () => {
    const retrying: DownstreamSettingsOverrides = {
      retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1_000, budgetPercent: 20, budgetMinRetriesPerSecond: 10 },
    };

    // random() = 0 takes no jitter off: the delays are baseDelayMs, then twice it (100, 200 ms)
    async function advanceBackoff(ms = 100): Promise<void> {
      await flush();
      mock.timers.tick(ms);
      await flush();
    }

    it('retries an idempotent call on transient errors until it succeeds', async () => {
      const h = harness(retrying);
      const outcomes = [unavailable, unavailable, ok];
      const result = h.run(() => outcomes[h.calls - 1]!(), { idempotent: true });
      await advanceBackoff();
      assert.equal(h.calls, 2);
      await advanceBackoff(200);
      assert.equal(await result, 'ok');
      assert.equal(h.calls, 3);
      assert.equal(await metricValue(h.registry, 'carshare_retries_total', { downstream: 'car' }), 2);
    });

    it('does not sleep before the backoff has elapsed', async () => {
      const h = harness(retrying);
      void h.run(unavailable, { idempotent: true }).catch(() => {});
      await flush();
      mock.timers.tick(99);
      await flush();
      assert.equal(h.calls, 1);
      mock.timers.tick(1);
      await flush();
      assert.equal(h.calls, 2);
    });

    it('never retries a non-idempotent call', async () => {
      const h = harness(retrying);
      const error = await rejection(h.run(unavailable, { idempotent: false }));
      assert.equal(error.reason, 'CAR_DOWN');
      assert.equal(h.calls, 1);
    });

    it('never retries client faults or INTERNAL', async () => {
      const h = harness(retrying);
      await rejection(h.run(notFound, { idempotent: true }));
      await rejection(h.run(() => Promise.reject(Internal('BUG', 'bug')), { idempotent: true }));
      assert.equal(h.calls, 2);
    });

    it('gives up after maxAttempts with the last error', async () => {
      const h = harness(retrying);
      let n = 0;
      const result = rejection(h.run(() => Promise.reject(Unavailable(`DOWN_${++n}`, 'down')), { idempotent: true }));
      await advanceBackoff();
      await advanceBackoff(200);
      const error = await result;
      assert.equal(error.reason, 'DOWN_3');
      assert.equal(h.calls, 3);
    });

    it('gives up with the last error when the backoff would end at the deadline, retries when it ends just before', async () => {
      const atDeadline = harness(retrying);
      let settled = false;
      const failed = rejection(atDeadline.run(unavailable, { idempotent: true, deadline: start + 100 })).finally(() => {
        settled = true;
      });
      await flush();
      assert.equal(settled, true, 'gave up at once instead of sleeping');
      const error = await failed;
      assert.equal(error.reason, 'CAR_DOWN', 'the downstream error, not DEADLINE_EXCEEDED');
      assert.equal(atDeadline.calls, 1);

      const beforeDeadline = harness(retrying);
      const outcomes = [unavailable, ok];
      const result = beforeDeadline.run(() => outcomes[beforeDeadline.calls - 1]!(), { idempotent: true, deadline: start + 101 });
      await advanceBackoff();
      assert.equal(await result, 'ok');
      assert.equal(beforeDeadline.calls, 2);
    });

    it('ends the backoff with DEADLINE_EXCEEDED as soon as the caller aborts', async () => {
      const h = harness(retrying);
      const controller = new AbortController();
      const result = rejection(h.run(unavailable, { idempotent: true, signal: controller.signal }));
      await flush();
      controller.abort();
      const error = await result;
      assert.equal(error.code, 'DEADLINE_EXCEEDED');
      assert.equal((error.cause as AppError).reason, 'CAR_DOWN');
      assert.equal(h.calls, 1);
    });

    it('stops retrying when 20 % of recent calls have been retried', async () => {
      const h = harness({ ...retrying, retry: { ...retrying.retry, budgetMinRetriesPerSecond: 0, maxAttempts: 2 } });
      await settleAll(h, [ok, ok, ok, ok]);
      // 5th call: 1 retry ≤ 20 % of 5
      const fifth = h.run(unavailable, { idempotent: true }).catch(() => {});
      await advanceBackoff();
      await fifth;
      assert.equal(h.calls, 6);
      // 6th call: a 2nd retry would be 2 of 6 = 33 %
      await rejection(h.run(unavailable, { idempotent: true }));
      assert.equal(h.calls, 7);
      assert.equal(await metricValue(h.registry, 'carshare_retry_budget_exhausted_total', { downstream: 'car' }), 1);
      assert.equal(await metricValue(h.registry, 'carshare_retries_total', { downstream: 'car' }), 1);
    });

    it('does not retry into an open circuit', async () => {
      const h = harness({ ...breakerOnly, retry: { maxAttempts: 3, budgetMinRetriesPerSecond: 100 } });
      await settleAll(h, Array.from({ length: 9 }, () => unavailable));
      const error = await rejection(h.run(unavailable, { idempotent: true }));
      assert.equal(error.reason, 'CAR_DOWN', 'the tenth call opened the circuit; no retry hit CIRCUIT_OPEN');
      assert.equal(h.calls, 10);
    });
  });

  describe('bulkhead', () => {
    const small: DownstreamSettingsOverrides = { bulkhead: { maxConcurrent: 2, maxQueued: 1 }, retry: { maxAttempts: 1 } };

    it('queues the call after maxConcurrent and rejects the one after maxConcurrent + maxQueued at once', async () => {
      const h = harness(small);
      const gates = [deferred<string>(), deferred<string>(), deferred<string>()];
      const running = gates.map((gate) => h.run(() => gate.promise));
      await flush();
      assert.equal(h.calls, 2, 'two run, the third waits in the queue');

      const rejected = await rejection(h.run(ok));
      assert.equal(rejected.code, 'RESOURCE_EXHAUSTED');
      assert.equal(rejected.reason, 'BULKHEAD_FULL');
      assert.equal(h.calls, 2);
      assert.equal(await metricValue(h.registry, 'carshare_bulkhead_rejections_total', { downstream: 'car' }), 1);

      gates[0]!.resolve('first');
      await flush();
      assert.equal(h.calls, 3, 'the queued call took the freed slot');
      gates[1]!.resolve('second');
      gates[2]!.resolve('third');
      assert.deepEqual(await Promise.all(running), ['first', 'second', 'third']);
    });

    it('rejects a queued call with DEADLINE_EXCEEDED when its deadline passes, without waiting for a slot', async () => {
      const h = harness(small);
      const gate = deferred<string>();
      void h.run(() => gate.promise);
      void h.run(() => gate.promise);
      const controller = new AbortController();
      const queued = rejection(h.run(ok, { signal: controller.signal }));
      controller.abort();
      const error = await queued;
      assert.equal(error.code, 'DEADLINE_EXCEEDED');
      gate.resolve('done');
      await flush();
      assert.equal(h.calls, 2, 'the aborted call never ran');
    });

    it('does not count bulkhead rejections as downstream failures', async () => {
      const h = harness({ ...small, breaker: { windowSize: 2, minimumCalls: 1, failureRatePercent: 1, cooldownMs: 1_000 } });
      const gate = deferred<string>();
      const running = [h.run(() => gate.promise), h.run(() => gate.promise), h.run(() => gate.promise)];
      for (let i = 0; i < 5; i++) await rejection(h.run(ok));
      assert.equal(h.policy.state(), 'closed');
      gate.resolve('done');
      await Promise.all(running);
    });
  });

  describe('deadline', () => {
    it('does not call when the signal is already aborted', async () => {
      const h = harness({});
      const controller = new AbortController();
      controller.abort();
      const error = await rejection(h.run(ok, { signal: controller.signal }));
      assert.equal(error.code, 'DEADLINE_EXCEEDED');
      assert.equal(h.calls, 0);
    });

    it('does not call when the deadline has passed, calls when 1 ms is left', async () => {
      const h = harness({});
      await rejection(h.run(ok, { deadline: start }));
      assert.equal(h.calls, 0);
      assert.equal(await h.run(ok, { deadline: start + 1 }), 'ok');
    });

    it('maps an abort of the call to DEADLINE_EXCEEDED', async () => {
      const h = harness({});
      const controller = new AbortController();
      const result = rejection(
        h.policy.execute(
          (signal) =>
            new Promise((_, reject) => signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))),
          { idempotent: true, signal: controller.signal, deadline: farDeadline },
        ),
      );
      controller.abort();
      const error = await result;
      assert.equal(error.code, 'DEADLINE_EXCEEDED');
      assert.deepEqual(error.details, { downstream: 'car' });
    });
  });

  it('validates settings when composed', () => {
    assert.throws(() => createDownstreamPolicy('car', { breaker: { minimumCalls: 30, windowSize: 20 } }), /breaker.minimumCalls/);
    assert.throws(() => createDownstreamPolicy('car', { bulkhead: { maxConcurrent: 0 } }), /bulkhead.maxConcurrent/);
  });
});
