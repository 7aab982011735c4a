import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { SamplingDecision, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { createTracing } from './tracing.ts';

const traceId = '0af7651916cd43dd8448eb211c80319c';
const pattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

describe('tracing, unsampled fast path', () => {
  it('a request with no sampled parent gets a non-recording span whose traceparent still carries a trace id, flags 00', async () => {
    const tracing = createTracing({ service: 'test', sampleRatio: 1 });
    const root = tracing.startServerSpan('GET /x', undefined, { 'http.request.method': 'GET' });
    assert.equal(root.isRecording(), false);
    const header = tracing.traceparentOf(root);
    assert.match(header ?? '', pattern);
    assert.equal(pattern.exec(header!)![3], '00');

    const child = tracing.startClientSpan('rpc', root, { 'rpc.method': 'M' });
    assert.equal(child.isRecording(), false);
    assert.equal(child.spanContext().traceId, root.spanContext().traceId);
    assert.notEqual(child.spanContext().spanId, root.spanContext().spanId);
    await tracing.shutdown();
  });

  it("an unsampled caller's trace id travels on; a sampled caller's flag too", () => {
    const tracing = createTracing({ service: 'test', sampleRatio: 0.5, otlpEndpoint: 'http://127.0.0.1:9' });
    const unsampled = tracing.startServerSpan('GET /x', `00-${traceId}-b7ad6b7169203331-00`);
    assert.equal(unsampled.isRecording(), false);
    assert.equal(unsampled.spanContext().traceId, traceId);
    assert.match(tracing.traceparentOf(tracing.startClientSpan('rpc', unsampled)) ?? '', new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));

    const sampled = tracing.startServerSpan('GET /x', `00-${traceId}-b7ad6b7169203331-01`);
    assert.equal(sampled.isRecording(), true);
    const client = tracing.startClientSpan('rpc', sampled);
    assert.equal(client.isRecording(), true);
    assert.match(tracing.traceparentOf(client) ?? '', new RegExp(`^00-${traceId}-${client.spanContext().spanId}-01$`));
    // Not ended: nothing listens at the OTLP endpoint, so nothing may be exported.
  });

  it('roots are sampled at the ratio, by trace id as the SDK samples them: a recorded root keeps the id the ratio chose', () => {
    const tracing = createTracing({ service: 'test', sampleRatio: 0.3, otlpEndpoint: 'http://127.0.0.1:9' });
    const sampler = new TraceIdRatioBasedSampler(0.3);
    const roots = Array.from({ length: 2000 }, () => tracing.startServerSpan('GET /x', undefined, { 'http.request.method': 'GET' }));
    const recorded = roots.filter((span) => span.isRecording());
    for (const span of roots) {
      const chosen = sampler.shouldSample(ROOT_CONTEXT, span.spanContext().traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;
      assert.equal(span.isRecording(), chosen, span.spanContext().traceId);
      assert.equal((span.spanContext().traceFlags & 1) === 1, chosen);
    }
    assert.ok(recorded.length > 450 && recorded.length < 750, `${recorded.length} of 2000 recorded at 0.3`);
    assert.equal(new Set(roots.map((span) => span.spanContext().traceId)).size, roots.length);
    // Not ended: nothing listens at the OTLP endpoint, so nothing may be exported.
  });

  it('a malformed traceparent starts a new trace', async () => {
    const tracing = createTracing({ service: 'test', sampleRatio: 0 });
    const span = tracing.startServerSpan('GET /x', 'garbage');
    assert.match(tracing.traceparentOf(span) ?? '', pattern);
    await tracing.shutdown();
  });
});

describe('tracing, a server span under a client span of this process', () => {
  it('is parented exactly as through the client span’s traceparent: same trace, the client span as parent, its sampled flag', () => {
    const tracing = createTracing({ service: 'test', sampleRatio: 0.5, otlpEndpoint: 'http://127.0.0.1:9' });
    for (const flags of ['00', '01']) {
      const client = tracing.startClientSpan('rpc', tracing.startServerSpan('GET /x', `00-${traceId}-b7ad6b7169203331-${flags}`));
      const viaHeader = tracing.startServerSpan('POST /rpc/a/B', tracing.traceparentOf(client));
      const under = tracing.startServerSpanUnder('POST /rpc/a/B', client);
      assert.equal(under.isRecording(), viaHeader.isRecording(), `flags ${flags}`);
      assert.equal(under.spanContext().traceId, traceId);
      assert.equal(under.spanContext().traceFlags, viaHeader.spanContext().traceFlags);
      if (under.isRecording()) {
        const parentOf = (span: unknown) => (span as { parentSpanContext?: { spanId: string }; parentSpanId?: string }).parentSpanContext?.spanId ?? (span as { parentSpanId?: string }).parentSpanId;
        assert.equal(parentOf(under), client.spanContext().spanId, 'the client span is the parent');
        assert.equal(parentOf(under), parentOf(viaHeader));
      }
    }
    // Not ended: nothing listens at the OTLP endpoint, so nothing may be exported.
  });
});
