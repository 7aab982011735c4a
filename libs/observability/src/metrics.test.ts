import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { observerFor } from './metrics.ts';

function pair() {
  const make = () => {
    const registry = new Registry();
    registry.setDefaultLabels({ service: 'probe' });
    const histogram = new Histogram({ name: 'probe_seconds', help: 'probe', labelNames: ['route', 'code'], buckets: [0.001, 0.01, 0.1, 1], registers: [registry] });
    return { registry, histogram };
  };
  return { plain: make(), fast: make() };
}

describe('observerFor', () => {
  it('exposes exactly what prom-client observe does: bounds, values past the last bucket, other series, reset', async () => {
    const { plain, fast } = pair();
    const ok = { route: '/v1/me', code: 'OK' };
    const observeOk = observerFor(fast.histogram, ok);
    const values = [0.0005, 0.001, 0.0011, 0.01, 0.05, 0.1, 0.5, 1, 1.5, 30, 0];
    const both = (value: number) => {
      plain.histogram.observe({ route: '/v1/me', code: 'OK' }, value);
      observeOk(value);
    };
    values.forEach(both);
    // Another series written through prom-client in between, and ours again.
    plain.histogram.observe({ route: '/v1/me', code: 'INTERNAL' }, 0.2);
    fast.histogram.observe({ route: '/v1/me', code: 'INTERNAL' }, 0.2);
    values.forEach(both);
    assert.equal(await fast.registry.metrics(), await plain.registry.metrics());
    assert.match(await fast.registry.metrics(), /probe_seconds_count\{service="probe",route="\/v1\/me",code="OK"\} 22/);

    plain.histogram.reset();
    fast.histogram.reset();
    [0.002, 3].forEach(both);
    assert.equal(await fast.registry.metrics(), await plain.registry.metrics());
    assert.throws(() => observeOk(Number.NaN), /not a valid number/);
  });

  it('joins a series that prom-client created first from another labels object', async () => {
    const { plain, fast } = pair();
    fast.histogram.observe({ route: '/x', code: 'OK' }, 0.5);
    plain.histogram.observe({ route: '/x', code: 'OK' }, 0.5);
    const observe = observerFor(fast.histogram, { route: '/x', code: 'OK' });
    for (const value of [0.003, 0.3, 0.003]) {
      observe(value);
      plain.histogram.observe({ route: '/x', code: 'OK' }, value);
    }
    assert.equal(await fast.registry.metrics(), await plain.registry.metrics());
  });
});
