import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '@carshare/testing';
import { signUpAndLogIn } from './support/sign-up.ts';
import { startTestPlatform, type TestPlatform } from './support/test-platform.ts';

interface Trace {
  gatewayServer: ReceivedSpan;
  gatewayClient: ReceivedSpan;
  userServer: ReceivedSpan;
  spans: ReceivedSpan[];
}

/** The three spans one GET /v1/me makes, once the user service's span has arrived. */
function traceOf(spans: readonly ReceivedSpan[], gatewayServer: ReceivedSpan | undefined): Trace | undefined {
  if (!gatewayServer) return undefined;
  const inTrace = spans.filter((span) => span.traceId === gatewayServer.traceId);
  const gatewayClient = inTrace.find((span) => span.service === 'gateway' && span.kind === 'client' && span.name === 'rpc user/GetUser');
  const userServer = inTrace.find((span) => span.service === 'user' && span.kind === 'server' && span.name === 'POST /rpc/user/GetUser');
  return gatewayClient && userServer ? { gatewayServer, gatewayClient, userServer, spans: inTrace } : undefined;
}

const meSpans = (spans: readonly ReceivedSpan[]) =>
  spans.filter((span) => span.service === 'gateway' && span.kind === 'server' && span.name === 'GET /v1/me');

// Over the real wire (traceparent and the other headers) and in process (ADR 0011): one trace either way.
for (const rpcTransport of ['http', 'in-process'] as const) describe(`tracing and logs across the gateway and the user service, calls ${rpcTransport === 'http' ? 'over loopback HTTP' : 'in process'}`, () => {
  let receiver: OtlpReceiver;
  let t: TestPlatform;
  let token: string;

  before(async () => {
    receiver = await startOtlpReceiver();
    // 'debug' because that is the lowest level at which our HTTP layer writes a line per request
    // ('request completed'); at 'info' a plain GET /v1/me writes nothing in either service.
    t = await startTestPlatform({ logLevel: 'debug', tracing: { otlpEndpoint: receiver.url, sampleRatio: 1 }, rpcTransport });
    token = (await signUpAndLogIn(t.api, { email: 'traced@example.com', password: 'correct horse battery', displayName: 'Traced' })).tokens.accessToken;
  });
  after(async () => {
    await t?.close();
    await receiver?.close();
  });

  it('GET /v1/me is one trace: gateway server span → gateway client span → user server span, and both services log its id', async () => {
    const me = await t.api.call('GET', '/v1/me', { token });
    assert.equal(me.status, 200, me.text);

    // The batch processor exports on its own within ~1 s: wait for it, bounded.
    const trace = await receiver.waitFor((spans) => traceOf(spans, meSpans(spans)[0]), 10_000);
    const { gatewayServer, gatewayClient, userServer } = trace;
    assert.match(gatewayServer.traceId, /^(?!0{32})[0-9a-f]{32}$/);
    assert.equal(userServer.traceId, gatewayServer.traceId);
    assert.equal(gatewayServer.parentSpanId, undefined, 'a request from outside starts the trace');
    assert.equal(gatewayServer.attributes['http.request.method'], 'GET');
    assert.equal(gatewayServer.attributes['url.path'], '/v1/me');
    assert.equal(gatewayServer.attributes['http.response.status_code'], 200);
    assert.equal(gatewayClient.parentSpanId, gatewayServer.spanId);
    assert.equal(gatewayClient.attributes['rpc.service'], 'user');
    assert.equal(gatewayClient.attributes['rpc.method'], 'GetUser');
    assert.equal(userServer.parentSpanId, gatewayClient.spanId, 'the client span is the parent across the hop');
    if (rpcTransport === 'http') {
      assert.equal(userServer.attributes['http.response.status_code'], 200);
    } else {
      assert.equal(userServer.attributes['rpc.response.status_code'], 'OK');
      assert.equal(userServer.attributes['network.transport'], 'inproc');
    }

    // Walk up from the user's span: it must reach the gateway's client span and end at its root.
    const byId = new Map(trace.spans.map((span) => [span.spanId, span]));
    const chain: ReceivedSpan[] = [];
    for (let span: ReceivedSpan | undefined = userServer; span; span = span.parentSpanId ? byId.get(span.parentSpanId) : undefined) {
      chain.push(span);
      assert.ok(chain.length < 10, 'parent chain has a cycle');
    }
    assert.deepEqual(
      chain.map((span) => `${span.service}:${span.kind}`),
      ['user:server', 'gateway:client', 'gateway:server'],
    );
    // /v1/me also asks the trip service for the rider's activity: its spans are in the trace when
    // their batch has arrived by now, which is a matter of timing (this failed now and then).
    const services = new Set(trace.spans.map((span) => span.service));
    assert.ok([...services].every((service) => service === 'gateway' || service === 'user' || service === 'trip'), `spans of ${[...services].join(', ')}`);

    const traceId = gatewayServer.traceId;
    const lines = t.logs.lines.filter((line) => line.traceId === traceId);
    const gatewayLines = lines.filter((line) => line.service === 'gateway');
    const userLines = lines.filter((line) => line.service === 'user');
    assert.ok(gatewayLines.length >= 1, `the gateway logged nothing with trace ${traceId}`);
    assert.ok(userLines.length >= 1, `the user service logged nothing with trace ${traceId}`);
    assert.ok(gatewayLines.some((line) => line.msg === 'request completed' && line['route'] === '/v1/me' && line['statusCode'] === 200));
    assert.ok(userLines.some((line) => line.msg === 'request completed' && line['route'] === '/rpc/user/GetUser'));
    // The request id travels with the call, so one grep finds the request in both services.
    const requestIds = new Set(lines.map((line) => line.requestId));
    assert.equal(requestIds.size, 1, `one request id across services, got ${[...requestIds].join(', ')}`);
    assert.match(String([...requestIds][0]), /^[0-9a-f-]{36}$/);
    assert.deepEqual(t.logs.unparsed, [], 'every log line is JSON');
    assert.deepEqual(receiver.requests.filter((request) => request.status !== 200), [], 'every export was OTLP/JSON and accepted');
  });

  it('closing the platform flushes spans that the batch timer has not sent yet', async () => {
    const before = meSpans(receiver.spans).length;
    const me = await t.api.call('GET', '/v1/me', { token });
    assert.equal(me.status, 200);
    await t.close();
    // No waiting here: close() shuts tracing down, which must have exported the batch already.
    const latest = meSpans(receiver.spans);
    assert.equal(latest.length, before + 1, 'the gateway span of the last request arrived before close() resolved');
    const trace = traceOf(receiver.spans, latest[latest.length - 1]);
    assert.ok(trace, 'the user span of the last request arrived too');
  });
});
