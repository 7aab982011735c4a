import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createObservability } from '@carshare/observability';
import { Unavailable, createBackgroundContext, type CallContext } from '@carshare/platform';
import { FakeClock } from '@carshare/testing';
import { gatherParts } from './gather-parts.ts';

const observability = createObservability({ service: 'gateway-test', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });

describe('gatherParts', () => {
  it('gives a part its budget on the injected clock, not the wall clock', async () => {
    // Months before the wall clock: a part deadline read from Date.now() would lie past the
    // request's deadline and the budget would silently not apply.
    const clock = new FakeClock('2026-03-01T10:00:00.000Z');
    const ctx = createBackgroundContext(observability, 'test', { budgetMs: 10_000, clock });
    try {
      let seen: CallContext | undefined;
      const { parts } = await gatherParts({ one: { load: async (partCtx) => ((seen = partCtx), 1), budgetMs: 250 } }, ctx, clock);
      assert.equal(parts.one, 1);
      assert.equal(seen?.deadline, clock.now() + 250);
      assert.equal(ctx.deadline, clock.now() + 10_000, 'the request keeps its own deadline');
      // Never a prototype made of the request's context (DESIGN.md §5): V8 then kept every
      // /v1/me request alive across scavenges, ~6 KB promoted to old space per request.
      assert.notEqual(Object.getPrototypeOf(seen), ctx, 'the part context is not Object.create(ctx)');
      assert.equal(Object.hasOwn(seen as object, 'deadline'), true);
      assert.equal(seen?.signal, ctx.signal, 'one deadline signal per request');
      assert.equal(seen?.log, ctx.log, 'one logger per request');
      assert.equal(seen?.requestId, ctx.requestId);
      assert.equal(seen?.span, ctx.span);
    } finally {
      ctx.dispose();
    }
  });

  it('keeps the request deadline when it is sooner than the part budget', async () => {
    const clock = new FakeClock('2026-03-01T10:00:00.000Z');
    const ctx = createBackgroundContext(observability, 'test', { budgetMs: 100, clock });
    try {
      let seen: CallContext | undefined;
      await gatherParts({ one: { load: async (partCtx) => ((seen = partCtx), 1), budgetMs: 5_000 } }, ctx, clock);
      assert.equal(seen, ctx);
    } finally {
      ctx.dispose();
    }
  });

  it('warns once per part and kind of failure per 10 s, then says how many failures the next line stands for', async () => {
    const lines: Array<{ msg: string; part?: string; alikeSinceLastLine?: number }> = [];
    const logDestination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as (typeof lines)[number]);
        done();
      },
    });
    const logging = createObservability({ service: 'gateway-test', logLevel: 'warn', prettyLogs: false, sampleRatio: 0, processMetrics: false, logDestination });
    const clock = new FakeClock('2026-03-01T10:00:00.000Z');
    const part = `activity-${Math.random()}`;
    const gatherOnce = async () => {
      const ctx = createBackgroundContext(logging, 'test', { budgetMs: 10_000, clock });
      try {
        await gatherParts({ user: { load: async () => 1 }, [part]: { load: async () => Promise.reject(Unavailable('CIRCUIT_OPEN', 'circuit to trip is open')) } }, ctx, clock);
      } finally {
        ctx.dispose();
      }
    };
    const warnings = () => lines.filter((line) => line.msg === 'part of a gathered answer failed' && line.part === part);
    for (let request = 0; request < 50; request++) await gatherOnce();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(warnings().length, 1, 'fifty failures alike inside 10 s are one line');
    clock.advance(10_000);
    await gatherOnce();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(warnings().length, 2);
    assert.equal(warnings()[1]?.alikeSinceLastLine, 49);
  });
});
