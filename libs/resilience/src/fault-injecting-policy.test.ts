import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { AppError, passThroughPolicy } from '@carshare/platform';
import { withInjectedFaults } from './fault-injecting-policy.ts';
import { FaultRegistry } from './fault-registry.ts';

const options = () => ({ idempotent: true, signal: new AbortController().signal, deadline: Date.now() + 10_000 });

describe('withInjectedFaults', () => {
  it('passes calls through while the switches are off', async () => {
    const faults = new FaultRegistry();
    const policy = withInjectedFaults(passThroughPolicy, faults, 'user');
    assert.equal(await policy.execute(async () => 'ok', options()), 'ok');
    assert.deepEqual(faults.list().map((fault) => fault.name).sort(), ['rpc.error:user', 'rpc.latency:user']);
  });

  it('fails the chosen share of calls with UNAVAILABLE before they reach the downstream', async () => {
    let draw = 0;
    const draws = [0.05, 0.5, 0.95, 0.19];
    const faults = new FaultRegistry({ random: () => draws[draw++ % draws.length] as number });
    const policy = withInjectedFaults(passThroughPolicy, faults, 'user');
    faults.set('rpc.error:user', { percent: 20 }, 'test');
    let reached = 0;
    const outcomes: string[] = [];
    for (let index = 0; index < 4; index += 1) {
      try {
        await policy.execute(async () => {
          reached += 1;
        }, options());
        outcomes.push('ok');
      } catch (error) {
        assert.ok(error instanceof AppError);
        outcomes.push(error.reason);
      }
    }
    assert.deepEqual(outcomes, ['INJECTED_FAULT', 'ok', 'ok', 'INJECTED_FAULT']);
    assert.equal(reached, 2);
  });

  it('delays calls by the switch latency, and the delay gives way to the caller’s deadline', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const faults = new FaultRegistry();
      const policy = withInjectedFaults(passThroughPolicy, faults, 'user');
      faults.set('rpc.latency:user', { percent: 100, latencyMs: 300 }, 'test');
      let done = false;
      const call = policy.execute(async () => 'late', options()).then((value) => {
        done = true;
        return value;
      });
      mock.timers.tick(299);
      await Promise.resolve();
      assert.equal(done, false);
      mock.timers.tick(1);
      assert.equal(await call, 'late');

      const controller = new AbortController();
      const aborted = policy.execute(async () => 'never', { ...options(), signal: controller.signal });
      controller.abort(new Error('deadline'));
      await assert.rejects(aborted, /deadline/);
    } finally {
      mock.timers.reset();
    }
  });
});
