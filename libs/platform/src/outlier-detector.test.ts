import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineRpcService } from '@carshare/contracts';
import { createObservability } from '@carshare/observability';
import { Type } from 'typebox';
import { createBackgroundContext } from './background-context.ts';
import { StaticDiscovery } from './discovery.ts';
import { createHttpServer } from './http-server.ts';
import { OutlierDetector } from './outlier-detector.ts';
import { createRpcClient } from './rpc-client.ts';
import { registerRpcService } from './rpc-server.ts';

const a = 'http://10.0.0.1:4001';
const b = 'http://10.0.0.2:4001';
const c = 'http://10.0.0.3:4001';

describe('OutlierDetector', () => {
  it('ejects an endpoint after N consecutive failures, for base × ejections, then takes it back', () => {
    let now = 0;
    const detector = new OutlierDetector({ consecutiveFailures: 3, baseEjectionMs: 1_000, maxEjectionPercent: 50 }, () => now);
    const endpoints = [a, b];
    detector.failed(a, endpoints);
    detector.failed(a, endpoints);
    assert.equal(detector.isEjected(a), false);
    detector.failed(a, endpoints);
    assert.equal(detector.isEjected(a), true);
    assert.equal(detector.pick(endpoints, 0), b, 'the rotation skips it');
    now = 1_000;
    assert.equal(detector.isEjected(a), false);
    assert.equal(detector.pick(endpoints, 0), a);
    for (let i = 0; i < 3; i++) detector.failed(a, endpoints);
    assert.equal(detector.isEjected(a), true);
    now = 2_999;
    assert.equal(detector.isEjected(a), true, 'the second ejection lasts twice as long');
    now = 3_000;
    assert.equal(detector.isEjected(a), false);
  });

  it('an address registered anew (a process restarted in place) rejoins at once; the old registration leaving changes nothing', () => {
    const detector = new OutlierDetector({ consecutiveFailures: 1, baseEjectionMs: 30_000 }, () => 0);
    const endpoints = [a, b, c];
    detector.retain(endpoints, [
      { url: a, id: 'a-1' },
      { url: b, id: 'b-1' },
      { url: c, id: 'c-1' },
    ]);
    detector.failed(a, endpoints);
    assert.equal(detector.isEjected(a), true);
    // The crashed process's key waits for its lease; the new process registers the same address.
    const restarted = [
      { url: a, id: 'a-1' },
      { url: b, id: 'b-1' },
      { url: c, id: 'c-1' },
      { url: a, id: 'a-2' },
    ];
    detector.retain(endpoints, restarted);
    assert.equal(detector.isEjected(a), false, 'the new instance owes nothing to the crashed one');
    detector.failed(a, endpoints);
    assert.equal(detector.isEjected(a), true);
    detector.retain(endpoints, restarted.slice(1));
    assert.equal(detector.isEjected(a), true, 'the lease of the crashed one running out is not a new registration');
  });

  it('a success in between resets the count', () => {
    const detector = new OutlierDetector({ consecutiveFailures: 2 }, () => 0);
    detector.failed(a, [a, b]);
    detector.succeeded(a);
    detector.failed(a, [a, b]);
    assert.equal(detector.isEjected(a), false);
  });

  it('never ejects more than the allowed share, nor the last endpoint', () => {
    const detector = new OutlierDetector({ consecutiveFailures: 1, maxEjectionPercent: 50 }, () => 0);
    const endpoints = [a, b, c];
    detector.failed(a, endpoints);
    detector.failed(b, endpoints);
    detector.failed(c, endpoints);
    assert.deepEqual([a, b, c].map((url) => detector.isEjected(url)), [true, false, false], '50 % of 3 is one endpoint');
    const alone = new OutlierDetector({ consecutiveFailures: 1, maxEjectionPercent: 100 }, () => 0);
    alone.failed(a, [a]);
    assert.equal(alone.isEjected(a), false, 'a service with one endpoint keeps it');
  });
});

describe('outlier ejection in the HTTP transport', () => {
  it('stops sending calls to an endpoint that refuses connections, after N failures', async () => {
    const pingRpc = defineRpcService('ping', {
      Ping: { callers: ['caller'], summary: 'ping', input: Type.Object({}), output: Type.Object({ ok: Type.Boolean() }), idempotent: true, errors: [] },
    });
    const observability = createObservability({ service: 'caller', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });
    const server = createHttpServer({ observability, errorStyle: 'rpc' });
    registerRpcService(server, pingRpc, { Ping: async () => ({ ok: true }) }, { observability });
    await server.listen({ host: '127.0.0.1', port: 0 });
    const { port } = server.server.address() as { port: number };
    const live = `http://127.0.0.1:${port}`;
    // Port 1 refuses connections: the shape of a crashed instance discovery still lists.
    const client = createRpcClient(pingRpc, { discovery: new StaticDiscovery({ ping: ['http://127.0.0.1:1', live] }), observability, outlierDetection: { consecutiveFailures: 2 } });
    const ctx = createBackgroundContext(observability, 'test', { budgetMs: 10_000 });
    let failures = 0;
    try {
      for (let call = 0; call < 20; call++) {
        await client.Ping({}, ctx).catch(() => failures++);
      }
      assert.equal(failures, 2, 'two calls found the dead endpoint, the other 18 went to the live one');
    } finally {
      ctx.dispose();
      await client.close();
      await server.close();
    }
  });
});
