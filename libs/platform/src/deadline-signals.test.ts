import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { createObservability } from '@carshare/observability';
import { DeadlineSignals, deadlineSlotMs } from './deadline-signals.ts';
import { createHttpServer } from './http-server.ts';

describe('DeadlineSignals', () => {
  it('shares one signal among deadlines of the same slot and aborts it at the slot’s end, not before the deadline', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const signals = new DeadlineSignals();
      const now = 1_000_000;
      const first = signals.signalFor(now + 101, now);
      assert.equal(signals.signalFor(now + 109, now), first, 'same 10 ms slot, same signal');
      const later = signals.signalFor(now + 111, now);
      assert.notEqual(later, first, 'the next slot has its own');
      mock.timers.tick(101);
      assert.equal(first.aborted, false, 'not before the slot ends');
      mock.timers.tick(110 - 101);
      assert.equal(first.aborted, true, 'at most one slot after the deadline');
      assert.equal(later.aborted, false);
      mock.timers.tick(deadlineSlotMs);
      assert.equal(later.aborted, true);
      assert.notEqual(signals.signalFor(now + 101, now), first, 'an aborted slot is never handed out again');
    } finally {
      mock.timers.reset();
    }
  });

  it('hands out an aborted signal for a deadline that has passed', () => {
    const signals = new DeadlineSignals();
    assert.equal(signals.signalFor(5, 5).aborted, true);
    assert.equal(signals.signalFor(4, 5).aborted, true);
  });

  it('lets every request of a slot listen without a leak warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const signal = new DeadlineSignals().signalFor(Date.now() + 60_000, Date.now());
      const listeners = Array.from({ length: 50 }, () => () => undefined);
      for (const listener of listeners) signal.addEventListener('abort', listener);
      await new Promise((resolve) => setImmediate(resolve));
      for (const listener of listeners) signal.removeEventListener('abort', listener);
      assert.deepEqual(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning').map((warning) => warning.message), []);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('a request’s signal', () => {
  it('aborts after the request’s deadline, within one slot, and is aborted at once when asked for after it', async () => {
    const observability = createObservability({ service: 'probe', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });
    const server = createHttpServer({ observability, errorStyle: 'rpc' });
    const seen: { abortedAfterMs?: number; lateSignalAborted?: boolean } = {};
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    server.get('/wait', (request) => {
      const started = Date.now();
      request.ctx.signal.addEventListener('abort', () => {
        seen.abortedAfterMs = Date.now() - started;
        setTimeout(() => {
          seen.lateSignalAborted = request.ctx.signal.aborted;
          done();
        }, 5);
      });
      return new Promise(() => undefined);
    });
    try {
      const url = await server.listen({ host: '127.0.0.1', port: 0 });
      const response = await fetch(`${url}/wait`, { headers: { 'x-deadline-ms': '50' } });
      assert.equal(response.status, 504);
      await finished;
      assert.ok((seen.abortedAfterMs ?? 0) >= 45, `aborted ${seen.abortedAfterMs} ms in, not before the deadline`);
      assert.ok((seen.abortedAfterMs ?? Infinity) < 50 + deadlineSlotMs + 40, `aborted ${seen.abortedAfterMs} ms in`);
      assert.equal(seen.lateSignalAborted, true);
    } finally {
      await server.close();
    }
  });
});
