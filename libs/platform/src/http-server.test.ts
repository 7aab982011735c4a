import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createObservability } from '@carshare/observability';
import { Type } from 'typebox';
import { DeadlineCallContext } from './call-context.ts';
import { Unavailable } from './errors.ts';
import { createHttpServer, type HttpServer } from './http-server.ts';

const observability = createObservability({ service: 'probe', logLevel: 'silent', prettyLogs: false, sampleRatio: 1, processMetrics: false });

describe('http server factory', () => {
  let server: HttpServer;
  let base: string;
  let databaseUp = true;

  before(async () => {
    server = createHttpServer({
      observability,
      errorStyle: 'public',
      bodyLimitBytes: 1024,
      defaultDeadlineMs: 200,
      readiness: [{ name: 'database', check: async () => { if (!databaseUp) throw new Error('connection refused'); } }],
    });
    server.post('/things', { schema: { body: Type.Object({ name: Type.String() }, { additionalProperties: false }) } }, async (request) => ({ got: request.body.name }));
    server.get('/explode', async () => {
      throw new Error('database password is hunter2');
    });
    server.get('/busy', async () => {
      throw Unavailable('CIRCUIT_OPEN', 'user is failing', { retryAfterMs: 2500 });
    });
    server.get('/slow', (request) => new Promise((resolve) => request.ctx.signal.addEventListener('abort', () => setTimeout(() => resolve({ late: true }), 20))));
    server.get('/derived', async (request) => {
      // What the gateway's scatter-gather does for a part with a shorter deadline.
      const part = new DeadlineCallContext(request.ctx, request.ctx.deadline - 1);
      return { sharesSignal: part.signal === request.ctx.signal, logs: part.log === request.ctx.log };
    });
    await server.listen({ host: '127.0.0.1', port: 0 });
    const address = server.server.address();
    assert.ok(address && typeof address === 'object');
    base = `http://127.0.0.1:${address.port}`;
  });

  after(() => server.close());

  it('answers liveness and readiness, and readiness follows its checks', async () => {
    assert.equal((await fetch(`${base}/health/live`)).status, 200);
    const ready = await fetch(`${base}/health/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ok', checks: { database: 'ok' } });
    databaseUp = false;
    const notReady = await fetch(`${base}/health/ready`);
    assert.equal(notReady.status, 503);
    assert.deepEqual(await notReady.json(), { status: 'unavailable', checks: { database: 'connection refused' } });
    databaseUp = true;
  });

  it('echoes a request id, or makes one', async () => {
    const given = await fetch(`${base}/health/live`, { headers: { 'x-request-id': 'abc-123' } });
    assert.equal(given.headers.get('request-id') ?? 'abc-123', 'abc-123');
  });

  it('rejects oversized, malformed and unknown-field bodies with the error shape', async () => {
    const cases: [RequestInit, number, string][] = [
      [{ body: JSON.stringify({ name: 'x'.repeat(2048) }) }, 413, 'PAYLOAD_TOO_LARGE'],
      [{ body: '{"name":' }, 400, 'MALFORMED_JSON'],
      [{ body: JSON.stringify({ name: 'a', admin: true }) }, 400, 'VALIDATION_FAILED'],
      [{ body: JSON.stringify({ name: 7 }) }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [init, status, code] of cases) {
      const response = await fetch(`${base}/things`, { method: 'POST', headers: { 'content-type': 'application/json' }, ...init });
      assert.equal(response.status, status, code);
      const body = (await response.json()) as { error: { code: string; traceId: string; message: string; details: object } };
      assert.equal(body.error.code, code);
      assert.equal(typeof body.error.message, 'string');
      assert.equal(typeof body.error.details, 'object');
      assert.match(body.error.traceId, /^[0-9a-f]{32}$/);
    }
    const wrongType = await fetch(`${base}/things`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    assert.equal(wrongType.status, 415);
  });

  it('answers 404 for unknown routes with the error shape', async () => {
    const response = await fetch(`${base}/nowhere`);
    assert.equal(response.status, 404);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'ROUTE_NOT_FOUND');
  });

  it('never leaks an unexpected error, and says which trace to look for', async () => {
    const response = await fetch(`${base}/explode`);
    assert.equal(response.status, 500);
    const text = await response.text();
    assert.doesNotMatch(text, /hunter2/);
    assert.match(text, /"traceId":"[0-9a-f]{32}"/);
  });

  it('maps Unavailable to 503 with Retry-After from the details', async () => {
    const response = await fetch(`${base}/busy`);
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('retry-after'), '3');
  });

  it('answers 504 at the deadline even when the handler is still busy', async () => {
    const response = await fetch(`${base}/slow`);
    assert.equal(response.status, 504);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'DEADLINE_EXCEEDED');
    const shorter = await fetch(`${base}/slow`, { headers: { 'x-deadline-ms': '0' } });
    assert.equal(shorter.status, 504);
  });

  it('gives a context derived from request.ctx the same signal and logger', async () => {
    assert.deepEqual(await (await fetch(`${base}/derived`)).json(), { sharesSignal: true, logs: true });
  });

  it('exposes RED metrics per route template, not per raw path', async () => {
    await fetch(`${base}/nowhere/${Math.random()}`);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /http_server_request_duration_seconds_count\{[^}]*http_route="\/health\/live"[^}]*\} \d+/);
    assert.match(metrics, /http_route="unmatched"/);
    assert.doesNotMatch(metrics, /nowhere/);
  });
});
