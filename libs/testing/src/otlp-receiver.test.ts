import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { createTracing } from '@carshare/observability';
import { startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.ts';

describe('OTLP receiver', () => {
  let receiver: OtlpReceiver;
  before(async () => {
    receiver = await startOtlpReceiver();
  });
  after(() => receiver.close());

  it('collects spans from the OpenTelemetry OTLP/HTTP exporter with hex ids, kinds, parents and the service name', async () => {
    receiver.clear();
    const tracing = createTracing({ service: 'probe', otlpEndpoint: receiver.url, sampleRatio: 1 });
    const server = tracing.startServerSpan('GET /things', undefined, { 'http.request.method': 'GET' });
    const client = tracing.startClientSpan('rpc things/Get', server, { 'rpc.method': 'Get', attempt: 2 });
    client.end();
    server.end();
    await tracing.shutdown();

    // shutdown() flushes the batch, so the spans are here without waiting.
    assert.equal(receiver.spans.length, 2);
    const serverSpan = receiver.spans.find((span) => span.name === 'GET /things');
    const clientSpan = receiver.spans.find((span) => span.name === 'rpc things/Get');
    assert.ok(serverSpan && clientSpan);
    assert.match(serverSpan.traceId, /^[0-9a-f]{32}$/);
    assert.match(serverSpan.spanId, /^[0-9a-f]{16}$/);
    assert.equal(serverSpan.traceId, server.spanContext().traceId);
    assert.equal(serverSpan.spanId, server.spanContext().spanId);
    assert.equal(serverSpan.parentSpanId, undefined);
    assert.equal(serverSpan.kind, 'server');
    assert.equal(serverSpan.service, 'probe');
    assert.deepEqual(serverSpan.attributes, { 'http.request.method': 'GET' });
    assert.equal(clientSpan.kind, 'client');
    assert.equal(clientSpan.traceId, serverSpan.traceId);
    assert.equal(clientSpan.parentSpanId, serverSpan.spanId);
    assert.deepEqual(clientSpan.attributes, { 'rpc.method': 'Get', attempt: 2 });
    assert.deepEqual(receiver.requests.map((request) => [request.status, request.contentType]), [[200, 'application/json']]);
  });

  it('waitFor resolves when a later export brings the span it selects', async () => {
    receiver.clear();
    const tracing = createTracing({ service: 'later', otlpEndpoint: receiver.url, sampleRatio: 1 });
    const waiting = receiver.waitFor((spans) => spans.find((span) => span.service === 'later'), 5_000);
    tracing.startServerSpan('late', undefined).end();
    await tracing.forceFlush();
    const span = await waiting;
    assert.equal(span.name, 'late');
    await tracing.shutdown();
  });

  it('waitFor rejects after its bound and lists what did arrive', async () => {
    receiver.clear();
    await assert.rejects(
      receiver.waitFor((spans) => spans.find((span) => span.name === 'never'), 50),
      /no matching spans within 50 ms; received 0/,
    );
  });

  it('reads gzip-compressed JSON and base64 ids', async () => {
    receiver.clear();
    const payload = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'zipped' } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex').toString('base64'),
                  spanId: Buffer.from('b7ad6b7169203331', 'hex').toString('base64'),
                  parentSpanId: '',
                  name: 'zipped span',
                  kind: 'SPAN_KIND_CONSUMER',
                  attributes: [
                    { key: 'n', value: { intValue: '42' } },
                    { key: 'list', value: { arrayValue: { values: [{ boolValue: true }, { doubleValue: 1.5 }] } } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    };
    const response = await fetch(`${receiver.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify(payload)),
    });
    assert.equal(response.status, 200);
    assert.deepEqual(receiver.spans.map(({ traceId, spanId, parentSpanId, kind, service, attributes }) => ({ traceId, spanId, parentSpanId, kind, service, attributes })), [
      {
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        parentSpanId: undefined,
        kind: 'consumer',
        service: 'zipped',
        attributes: { n: 42, list: [true, 1.5] },
      },
    ]);
  });

  it('refuses protobuf with 415 and records the refusal instead of dropping it silently', async () => {
    receiver.clear();
    const response = await fetch(`${receiver.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: new Uint8Array([0x0a, 0x00]),
    });
    assert.equal(response.status, 415);
    assert.equal(receiver.spans.length, 0);
    assert.equal(receiver.requests[0]?.status, 415);
    assert.equal(receiver.requests[0]?.contentType, 'application/x-protobuf');
  });

  it('answers 400 to a body that is not an export request, and 404 elsewhere', async () => {
    receiver.clear();
    const bad = await fetch(`${receiver.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":1}' });
    assert.equal(bad.status, 400);
    const elsewhere = await fetch(`${receiver.url}/v1/metrics`, { method: 'POST', body: '{}' });
    assert.equal(elsewhere.status, 404);
    assert.deepEqual(receiver.requests.map((request) => request.status), [400, 404]);
    assert.deepEqual(receiver.counts(), { exports: 0, spans: 0, bytes: 0 }, 'refused requests are not counted');
  });
});

describe('OTLP receiver that only counts (benchmarks)', () => {
  it('counts accepted exports, their spans and bytes as sent, keeping no spans', async () => {
    const receiver = await startOtlpReceiver({ keepSpans: false });
    try {
      const tracing = createTracing({ service: 'bench', otlpEndpoint: receiver.url, sampleRatio: 1 });
      const root = tracing.startServerSpan('GET /a', undefined);
      tracing.startClientSpan('rpc a/B', root).end();
      root.end();
      await tracing.forceFlush();
      tracing.startServerSpan('GET /b', undefined).end();
      await tracing.shutdown();
      await fetch(`${receiver.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":1}' });

      const counts = receiver.counts();
      assert.equal(counts.exports, 2);
      assert.equal(counts.spans, 3);
      const accepted = receiver.requests.filter((request) => request.status === 200);
      assert.equal(counts.bytes, accepted.reduce((sum, request) => sum + request.bytes, 0));
      assert.ok(counts.bytes > 100, `bytes ${counts.bytes}`);
      assert.equal(receiver.spans.length, 0);
    } finally {
      await receiver.close();
    }
  });
});
