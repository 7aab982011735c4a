import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createObservability } from '@carshare/observability';
import { Type } from 'typebox';
import { DeadlineCallContext } from './call-context.ts';
import { Unavailable } from './errors.ts';
import { createHttpServer, type HttpServer } from './http-server.ts';
import { jsonDepthExceeds, maxJsonDepth } from './input-guard-plugin.ts';

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

/** Writes `request` on a fresh socket and resolves with everything read until the server closes it. */
function rawExchange(port: number, request: string, timeoutMs = 3_000): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedAfterMs: performance.now() - started });
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the socket open for ${timeoutMs} ms; read so far: ${JSON.stringify(text.slice(0, 200))}`));
    }, timeoutMs);
  });
}

function statusOf(raw: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
}

function jsonBodyOf(raw: string): { error: { code: string; details: Record<string, unknown> } } {
  return JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { error: { code: string; details: Record<string, unknown> } };
}

describe('http server hygiene (issue 13: slow clients, request line, methods, nesting)', () => {
  let server: HttpServer;
  let port: number;
  const timeouts = { headersTimeoutMs: 400, requestTimeoutMs: 600, connectionTimeoutMs: 5_000, timeoutCheckIntervalMs: 50 };

  before(async () => {
    // A deadline longer than the request timeout, so the slow-body answer below comes from the timeout.
    server = createHttpServer({ observability, errorStyle: 'public', defaultDeadlineMs: 5_000, timeouts });
    server.post('/things', async (request) => ({ got: request.body }));
    server.put('/things/:id', async () => ({ ok: true }));
    server.get('/things/:id', async () => ({ ok: true }));
    // Like @fastify/static for a missing file: the route itself answers not-found.
    server.get('/files/*', (_request, reply) => reply.callNotFound());
    await server.listen({ host: '127.0.0.1', port: 0 });
    const address = server.server.address();
    assert.ok(address && typeof address === 'object');
    port = address.port;
  });
  after(() => server.close());

  it('answers slow headers with 408 and closes the socket within the headers timeout (+ check interval)', async () => {
    const { text, closedAfterMs } = await rawExchange(port, 'GET /things/1 HTTP/1.1\r\nhost: x\r\nx-slow: ');
    assert.equal(statusOf(text), 408, text);
    assert.equal(jsonBodyOf(text).error.code, 'REQUEST_TIMEOUT');
    assert.ok(closedAfterMs < timeouts.headersTimeoutMs + timeouts.timeoutCheckIntervalMs + 150, `closed after ${closedAfterMs} ms`);
  });

  it('answers a trickled body with 408 (not 504) and closes the socket within the request timeout', async () => {
    const started = performance.now();
    const socket: Socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.write('POST /things HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{');
    // One byte every 50 ms, for longer than the request timeout: the socket never goes quiet.
    const trickle = setInterval(() => socket.writable && socket.write(' '), 50);
    const closedAfterMs = await new Promise<number>((resolve) => socket.on('close', () => resolve(performance.now() - started)));
    clearInterval(trickle);
    assert.equal(statusOf(text), 408, text);
    assert.equal(jsonBodyOf(text).error.code, 'REQUEST_TIMEOUT');
    assert.match(text, /connection: close/i);
    assert.ok(closedAfterMs < timeouts.requestTimeoutMs + timeouts.timeoutCheckIntervalMs + 150, `closed after ${closedAfterMs} ms`);
  });

  it('answers a trickled body with 408 at the deadline when the deadline comes first, and closes', async () => {
    const short = createHttpServer({ observability, errorStyle: 'public', defaultDeadlineMs: 200, timeouts: { ...timeouts, requestTimeoutMs: 5_000, headersTimeoutMs: 5_000 } });
    short.post('/things', async (request) => ({ got: request.body }));
    await short.listen({ host: '127.0.0.1', port: 0 });
    try {
      const shortPort = (short.server.address() as { port: number }).port;
      const socket = connect(shortPort, '127.0.0.1');
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
      socket.on('error', () => undefined);
      socket.write('POST /things HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{');
      const trickle = setInterval(() => socket.writable && socket.write(' '), 50);
      const started = performance.now();
      await new Promise<void>((resolve) => socket.on('close', () => resolve()));
      clearInterval(trickle);
      assert.equal(statusOf(text), 408, text);
      assert.ok(performance.now() - started < 1_000, 'closed soon after the deadline');
    } finally {
      await short.close();
    }
  });

  it('refuses a request line without an HTTP version (HTTP/0.9) and other versions with 400', async () => {
    for (const line of ['GET /things/1\r\n\r\n', 'GET /things/1 HTTP/2.0\r\nhost: x\r\n\r\n']) {
      const { text } = await rawExchange(port, line);
      assert.equal(statusOf(text), 400, `${JSON.stringify(line)} → ${text}`);
      assert.equal(jsonBodyOf(text).error.code, 'UNSUPPORTED_HTTP_VERSION');
    }
    const fine = await rawExchange(port, 'GET /things/1 HTTP/1.0\r\n\r\n');
    assert.equal(statusOf(fine.text), 200, fine.text);
  });

  it('answers a known path with the wrong method 405 and Allow; an unknown path stays 404', async () => {
    const wrong = await fetch(`http://127.0.0.1:${port}/things/7`, { method: 'DELETE' });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'GET, HEAD, PUT');
    const body = (await wrong.json()) as { error: { code: string; details: { allow: string[] } } };
    assert.equal(body.error.code, 'METHOD_NOT_ALLOWED');
    assert.deepEqual(body.error.details.allow, ['GET', 'HEAD', 'PUT']);
    assert.equal((await fetch(`http://127.0.0.1:${port}/things`, { method: 'GET' })).headers.get('allow'), 'POST');
    assert.equal((await fetch(`http://127.0.0.1:${port}/things/7/more`, { method: 'DELETE' })).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${port}/health/live`, { method: 'POST' })).status, 405);
    assert.equal((await fetch(`http://127.0.0.1:${port}/files/missing.js`)).status, 404, 'its own method: a miss, not a 405');
  });

  it('refuses JSON nested deeper than the limit with a clear 400, without overflowing a stack', async () => {
    for (const depth of [maxJsonDepth + 1, 5_000, 60_000]) {
      const response = await fetch(`http://127.0.0.1:${port}/things`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`.slice(0, 64 * 1024 - 1),
      });
      assert.equal(response.status, 400, `depth ${depth}`);
      const body = (await response.json()) as { error: { code: string; details: { maxDepth: number } } };
      assert.equal(body.error.code, 'JSON_TOO_DEEP');
      assert.equal(body.error.details.maxDepth, maxJsonDepth);
    }
    // As deep as allowed, with brackets and an escaped backslash inside a string that must not count.
    const atLimit = { a: JSON.parse(`${'['.repeat(maxJsonDepth - 1)}${']'.repeat(maxJsonDepth - 1)}`) as unknown, s: '[[[[{{{{\\' };
    const ok = await fetch(`http://127.0.0.1:${port}/things`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(atLimit) });
    assert.equal(ok.status, 200);
  });

  it('counts depth outside strings only, escapes included', () => {
    assert.equal(jsonDepthExceeds('[[[', 2), true);
    assert.equal(jsonDepthExceeds('[["[[[[\\"]]', 2), false);
    assert.equal(jsonDepthExceeds('["\\"[[[["]', 1), false);
    assert.equal(jsonDepthExceeds('[][][][]', 1), false);
  });
});
