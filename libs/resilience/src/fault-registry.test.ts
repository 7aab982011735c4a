import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '@carshare/platform';
import { FakeClock } from '@carshare/testing';
import { Registry } from 'prom-client';
import { FaultRegistry, rpcErrorFault, rpcLatencyFault } from './fault-registry.ts';
import { recordingLogger } from './recording-logger.ts';

function sequence(...values: number[]): () => number {
  let i = 0;
  return () => {
    const value = values[i % values.length]!;
    i++;
    return value;
  };
}

function registryWith(random: () => number = Math.random) {
  const clock = new FakeClock('2026-02-01T12:00:00.000Z');
  const logger = recordingLogger();
  const metrics = new Registry();
  const faults = new FaultRegistry({ random, clock, logger, registry: metrics, auditLimit: 3 });
  faults.registerRpcFaults('car');
  return { faults, clock, logger, metrics };
}

function code(reason: string) {
  return (error: unknown) => error instanceof AppError && error.reason === reason;
}

describe('FaultRegistry', () => {
  it('registers rpc faults per service, all off', () => {
    const { faults } = registryWith();
    assert.deepEqual(
      faults.list().map(({ name, carriesLatency, percent, latencyMs }) => ({ name, carriesLatency, percent, latencyMs })),
      [
        { name: 'rpc.error:car', carriesLatency: false, percent: 0, latencyMs: 0 },
        { name: 'rpc.latency:car', carriesLatency: true, percent: 0, latencyMs: 0 },
      ],
    );
    assert.equal(faults.shouldFail(rpcErrorFault('car')), false);
    assert.equal(faults.latencyFor(rpcLatencyFault('car')), 0);
  });

  it('fails exactly the requests whose random draw falls under the percentage', () => {
    // draws × 100: 24.9, 25, 99.9, 0 → under 25 % are the first and the last
    const { faults } = registryWith(sequence(0.249, 0.25, 0.999, 0));
    faults.set('rpc.error:car', { percent: 25 }, 'ops@carshare');
    assert.deepEqual([1, 2, 3, 4].map(() => faults.shouldFail('rpc.error:car')), [true, false, false, true]);
  });

  it('at 100 % always fails and at 0 % never, whatever the draw', () => {
    const { faults } = registryWith(sequence(0.999999));
    faults.set('rpc.error:car', { percent: 100 }, 'ops');
    assert.equal(faults.shouldFail('rpc.error:car'), true);
    faults.set('rpc.error:car', { percent: 0 }, 'ops');
    assert.equal(faults.shouldFail('rpc.error:car'), false);
  });

  it('returns the latency for the chosen share of requests', () => {
    const { faults } = registryWith(sequence(0.1, 0.6));
    faults.set('rpc.latency:car', { percent: 50, latencyMs: 800 }, 'ops');
    assert.deepEqual([faults.latencyFor('rpc.latency:car'), faults.latencyFor('rpc.latency:car')], [800, 0]);
  });

  it('treats unknown names as off on the request path', () => {
    const { faults } = registryWith(sequence(0));
    assert.equal(faults.shouldFail('rpc.error:nope'), false);
    assert.equal(faults.latencyFor('rpc.latency:nope'), 0);
  });

  it('records who changed what, when, from and to, and keeps only the newest changes', () => {
    const { faults, clock } = registryWith();
    faults.set('rpc.latency:car', { percent: 10, latencyMs: 200 }, 'alice');
    clock.advance(1_000);
    faults.set('rpc.latency:car', { percent: 30 }, 'bob');
    const [first, second] = faults.auditLog();
    assert.deepEqual(first, {
      at: Date.parse('2026-02-01T12:00:00.000Z'),
      by: 'alice',
      name: 'rpc.latency:car',
      old: { percent: 0, latencyMs: 0 },
      new: { percent: 10, latencyMs: 200 },
    });
    assert.deepEqual(second?.new, { percent: 30, latencyMs: 200 }, 'latency kept when only the percentage changes');
    faults.set('rpc.error:car', { percent: 1 }, 'carol');
    faults.set('rpc.error:car', { percent: 2 }, 'dave');
    assert.deepEqual(
      faults.auditLog().map((change) => change.by),
      ['bob', 'carol', 'dave'],
      'bounded to the 3 newest',
    );
    const listed = faults.list().find((fault) => fault.name === 'rpc.error:car');
    assert.equal(listed?.updatedBy, 'dave');
  });

  it('logs every change: on as a warning, off as info', () => {
    const { faults, logger } = registryWith();
    faults.set('rpc.error:car', { percent: 5 }, 'ops');
    faults.resetAll('ops');
    assert.deepEqual(
      logger.lines.map((line) => [line.level, line.msg]),
      [
        ['warn', 'fault rpc.error:car set to 5 % by ops'],
        ['info', 'fault rpc.error:car turned off by ops'],
      ],
    );
  });

  it('exports the current percentage per fault', async () => {
    const { faults, metrics } = registryWith();
    faults.set('rpc.error:car', { percent: 40 }, 'ops');
    const values = (await metrics.getSingleMetric('carshare_fault_switch_percent')!.get()).values;
    assert.equal(values.find((value) => value.labels.fault === 'rpc.error:car')?.value, 40);
  });

  it('accepts 0 and 100, rejects just outside', () => {
    const { faults } = registryWith();
    faults.set('rpc.error:car', { percent: 0 }, 'ops');
    faults.set('rpc.error:car', { percent: 100 }, 'ops');
    assert.throws(() => faults.set('rpc.error:car', { percent: -0.001 }, 'ops'), code('INVALID_FAULT_PERCENT'));
    assert.throws(() => faults.set('rpc.error:car', { percent: 100.001 }, 'ops'), code('INVALID_FAULT_PERCENT'));
    assert.throws(() => faults.set('rpc.error:car', { percent: Number.NaN }, 'ops'), code('INVALID_FAULT_PERCENT'));
  });

  it('rejects unknown faults, latency on error faults, negative latency and anonymous changes', () => {
    const { faults } = registryWith();
    assert.throws(() => faults.set('rpc.error:nope', { percent: 1 }, 'ops'), code('FAULT_NOT_FOUND'));
    assert.throws(() => faults.set('rpc.error:car', { percent: 1, latencyMs: 5 }, 'ops'), code('FAULT_HAS_NO_LATENCY'));
    assert.throws(() => faults.set('rpc.latency:car', { percent: 1, latencyMs: -1 }, 'ops'), code('INVALID_FAULT_LATENCY'));
    assert.throws(() => faults.set('rpc.error:car', { percent: 1 }, ''), code('FAULT_CHANGE_WITHOUT_ACTOR'));
    assert.equal(faults.auditLog().length, 0, 'rejected changes leave no trace');
  });

  it('lets a module register the same switch twice but not two different ones under one name', () => {
    const { faults } = registryWith();
    faults.registerRpcFaults('car');
    assert.equal(faults.list().length, 2);
    assert.throws(() => faults.register({ name: 'rpc.error:car', description: 'something else' }), /different definition/);
  });
});
