import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, BasicTracerProvider, SamplingDecision, type ReadableSpan, type Sampler, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { CompactOtlpSpanProcessor, otlpHeadersFromEnv } from './compact-otlp-span-processor.ts';

/** A collector that keeps every body it is sent, parsed, and answers 200 (or `status`). */
async function startCollector(): Promise<{ url: string; bodies: unknown[]; headers: Array<Record<string, unknown>>; status: number; server: Server }> {
  const collector = { url: '', bodies: [] as unknown[], headers: [] as Array<Record<string, unknown>>, status: 200, server: undefined as unknown as Server };
  collector.server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      collector.bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      collector.headers.push(request.headers);
      response.writeHead(collector.status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.server.listen(0, '127.0.0.1', resolve));
  collector.url = `http://127.0.0.1:${(collector.server.address() as AddressInfo).port}/v1/traces`;
  return collector;
}

/** Records spans without sampling them: the processor sees them end and must not send them. */
const recordOnly: Sampler = { shouldSample: () => ({ decision: SamplingDecision.RECORD }), toString: () => 'RecordOnly' };

/** Spans of every shape the SDK records: attributes of each type, an event, a link, a status message, tracestate, a remote parent. */
function recordSpans(processor: SpanProcessor, sampled = true): ReadableSpan[] {
  const ended: ReadableSpan[] = [];
  const keep: SpanProcessor = { onStart: () => undefined, onEnd: (span) => ended.push(span), forceFlush: async () => undefined, shutdown: async () => undefined };
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'probe' }), sampler: sampled ? new AlwaysOnSampler() : recordOnly, spanProcessors: [keep, processor] });
  const tracer = provider.getTracer('carshare');
  const remoteParent = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
    traceState: new TraceState('vendor=one,other=two'),
  });
  const server = tracer.startSpan(
    'POST /rpc/user/GetUser',
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'POST', 'http.response.status_code': 200, ratio: 0.25, retried: false, tags: ['a', 'b'], codes: [1, 2] } },
    remoteParent,
  );
  server.addEvent('exception', { 'exception.message': 'no such "user"\n', 'exception.type': 'NotFound' });
  server.setStatus({ code: SpanStatusCode.ERROR, message: 'not found' });
  const client = tracer.startSpan('rpc user/GetUser', { kind: SpanKind.CLIENT, links: [{ context: server.spanContext(), attributes: { why: 'retry' } }] }, trace.setSpan(ROOT_CONTEXT, server));
  client.end();
  server.end();
  if (sampled) tracer.startSpan('GET /v1/me').end();
  return ended;
}

describe('CompactOtlpSpanProcessor', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  before(async () => {
    collector = await startCollector();
  });
  after(() => new Promise<void>((resolve) => collector.server.close(() => resolve())));

  it('sends the spans exactly as the SDK OTLP/HTTP exporter sends them', async () => {
    collector.bodies.length = 0;
    const processor = new CompactOtlpSpanProcessor({ url: collector.url });
    const spans = recordSpans(processor);
    await processor.forceFlush();
    const exporter = new OTLPTraceExporter({ url: collector.url });
    await new Promise<void>((resolve) => exporter.export(spans, () => resolve()));
    await exporter.shutdown();
    await processor.shutdown();

    assert.equal(collector.bodies.length, 2);
    const [ours, sdk] = collector.bodies;
    assert.deepEqual(ours, sdk);
    assert.equal(processor.stats.exports, 1);
  });

  it('sends only sampled spans, in one batch once the delay has passed', async () => {
    collector.bodies.length = 0;
    const processor = new CompactOtlpSpanProcessor({ url: collector.url, scheduledDelayMillis: 10 });
    recordSpans(processor, false);
    const sampled = recordSpans(processor, true);
    // No flush: the timer sends it.
    const deadline = Date.now() + 5_000;
    while (collector.bodies.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    const body = collector.bodies[0] as { resourceSpans: { resource: unknown; scopeSpans: { scope: { name: string }; spans: { spanId: string }[] }[] }[] };
    assert.ok(body, 'nothing was sent');
    assert.deepEqual(
      body.resourceSpans.flatMap((group) => group.scopeSpans.flatMap((scope) => scope.spans.map((span) => span.spanId))),
      sampled.map((span) => span.spanContext().spanId),
    );
    assert.deepEqual(body.resourceSpans[0]?.resource, { attributes: [{ key: 'service.name', value: { stringValue: 'probe' } }], droppedAttributesCount: 0 });
    await processor.shutdown();
  });

  it('drops spans beyond its queue bound and counts a refused batch, without throwing', async () => {
    collector.bodies.length = 0;
    collector.status = 503;
    try {
      const processor = new CompactOtlpSpanProcessor({ url: collector.url, maxQueueSize: 2, scheduledDelayMillis: 60_000 });
      recordSpans(processor);
      assert.equal(processor.stats.droppedSpans, 1);
      await processor.forceFlush();
      assert.equal(processor.stats.failedExports, 1);
      assert.equal((collector.bodies[0] as { resourceSpans: { scopeSpans: { spans: unknown[] }[] }[] }).resourceSpans[0]?.scopeSpans[0]?.spans.length, 2);
      await processor.shutdown();
    } finally {
      collector.status = 200;
    }
  });

  it("sends a hosted collector's credentials from the environment, as the SDK exporter does", async () => {
    const env = { OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=general,X-Tenant=acme%20co', OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-api-key=traces%3Dkey' };
    assert.deepEqual(otlpHeadersFromEnv(env), { 'x-api-key': 'traces=key', 'x-tenant': 'acme co' });
    assert.deepEqual(otlpHeadersFromEnv({}), {});
    collector.headers.length = 0;
    const processor = new CompactOtlpSpanProcessor({ url: collector.url, headers: otlpHeadersFromEnv(env) });
    recordSpans(processor);
    await processor.shutdown();
    assert.equal(collector.headers[0]?.['x-api-key'], 'traces=key');
    assert.equal(collector.headers[0]?.['x-tenant'], 'acme co');
    assert.equal(collector.headers[0]?.['content-type'], 'application/json');
  });
});
