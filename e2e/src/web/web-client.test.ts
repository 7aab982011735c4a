import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../support/test-platform.ts';
import { authRoutes, carRoutes, meRoutes } from '@carshare/contracts';
import { carDescriptor } from '@carshare/car-service';
import { gatewayDescriptor } from '@carshare/gateway-service';
import { ServiceRegistry } from '@carshare/service-kit';
import { userDescriptor } from '@carshare/user-service';
import { ApiError, MemoryTokenStore, createWebClient, urlOf, type SessionEndReason } from '@carshare/web-client';
import { claimsOf, expiredAccessToken } from '../support/forged-tokens.ts';

// @carshare/web-client against a real gateway (user and car services behind it, embedded): the
// typed calls, the API's error shape as ApiError, silent refresh (ahead of expiry, and after a
// 401 TOKEN_EXPIRED, once for parallel calls), the end of a spent session, Idempotency-Key on
// mutating calls (the same key for the retry), and the failures that never reach the API.

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string>;
  status: number;
}

describe('the web client against a real gateway', () => {
  let t: TestPlatform;
  const seen: Seen[] = [];
  /** The real fetch, recording what went over the wire. */
  const recordingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    seen.push({
      method: init?.method ?? 'GET',
      url: typeof input === 'string' ? input : input instanceof URL ? input.href : input.url,
      headers: Object.fromEntries(Object.entries((init?.headers ?? {}) as Record<string, string>)),
      status: response.status,
    });
    return response;
  };

  async function newRider() {
    const account = { email: `client-${randomUUID()}@example.com`, password: 'quiet-Meadow-41-lantern', displayName: 'Client Rider' };
    await t.platform.module(userDescriptor).users.createAccount({ ...account, role: 'rider', plan: 'free' });
    return account;
  }

  before(async () => {
    t = await startTestPlatform({ registry: new ServiceRegistry([userDescriptor, gatewayDescriptor, carDescriptor]) });
  });

  after(async () => {
    await t?.close();
  });

  it('logs in, keeps the session and makes typed calls with the bearer token', async () => {
    const account = await newRider();
    const client = createWebClient({ baseUrl: t.api.baseUrl, fetch: recordingFetch });
    const session = await client.logIn({ email: account.email, password: account.password });
    assert.equal(session.user.email, account.email);
    assert.ok(client.hasSession());
    const me = await client.call(meRoutes.me, {});
    assert.equal(me.user?.id, session.user.id);
    const nearby = await client.call(carRoutes.nearby, { query: { lat: 52.52, lng: 13.405, radiusM: 500, limit: 5 } });
    assert.ok(Array.isArray(nearby.items));
    const last = seen.at(-1)!;
    assert.match(last.url, /\/v1\/cars\/nearby\?lat=52\.52&lng=13\.405&radiusM=500&limit=5$/);
    assert.equal(last.headers['authorization'], `Bearer ${session.tokens.accessToken}`);
  });

  it('throws the API error shape as ApiError: status, code, details and the trace id', async () => {
    const client = createWebClient({ baseUrl: t.api.baseUrl });
    await assert.rejects(
      client.call(authRoutes.register, { body: { email: 'not-an-address', password: 'x', displayName: 'X' } }),
      (error: unknown) => {
        assert.ok(error instanceof ApiError);
        assert.equal(error.status, 400);
        assert.equal(error.code, 'VALIDATION_FAILED');
        assert.equal(typeof error.details, 'object');
        assert.match(error.traceId ?? '', /^[0-9a-f]{32}$/);
        return true;
      },
    );
    await assert.rejects(client.logIn({ email: 'nobody@example.com', password: 'wrong-password' }), { name: 'ApiError', status: 401, code: 'INVALID_CREDENTIALS' });
    assert.equal(client.hasSession(), false);
  });

  it('refreshes after a 401 TOKEN_EXPIRED and retries, once for calls made in parallel', async () => {
    const account = await newRider();
    const first = createWebClient({ baseUrl: t.api.baseUrl });
    const session = await first.logIn({ email: account.email, password: account.password });
    const expired = await expiredAccessToken(t.platform, { ...session.user, sessionId: claimsOf(session.tokens.accessToken)['sid'] as string });
    // The client believes the token is good for 10 more minutes: only the server knows better.
    const tokens = new MemoryTokenStore({ accessToken: expired, refreshToken: session.tokens.refreshToken, expiresAtMs: Date.now() + 600_000 });
    const ended: SessionEndReason[] = [];
    const client = createWebClient({ baseUrl: t.api.baseUrl, tokens, fetch: recordingFetch });
    client.onSessionEnd((reason) => ended.push(reason));
    seen.length = 0;
    const answers = await Promise.all([client.call(meRoutes.me, {}), client.call(meRoutes.me, {}), client.call(meRoutes.me, {})]);
    for (const answer of answers) assert.equal(answer.user?.id, session.user.id);
    assert.equal(seen.filter((request) => request.url.endsWith('/v1/auth/refresh')).length, 1, 'one refresh for three calls (a second would be REFRESH_TOKEN_REUSED)');
    assert.equal(seen.filter((request) => request.status === 401).length, 3);
    assert.notEqual(tokens.load()?.accessToken, expired);
    assert.notEqual(tokens.load()?.refreshToken, session.tokens.refreshToken, 'the rotated refresh token is kept');
    assert.deepEqual(ended, []);
  });

  it('refreshes ahead of expiry without a refused call first', async () => {
    const account = await newRider();
    let now = Date.now();
    const client = createWebClient({ baseUrl: t.api.baseUrl, fetch: recordingFetch, now: () => now, refreshAheadMs: 30_000 });
    const session = await client.logIn({ email: account.email, password: account.password });
    now += session.tokens.expiresIn * 1000 - 10_000;
    seen.length = 0;
    await client.call(meRoutes.me, {});
    assert.deepEqual(
      seen.map((request) => [new URL(request.url).pathname, request.status]),
      [
        ['/v1/auth/refresh', 200],
        ['/v1/me', 200],
      ],
    );
    assert.notEqual(seen[1]!.headers['authorization'], `Bearer ${session.tokens.accessToken}`);
  });

  it('ends the session when its refresh token is spent, and says so to its listeners', async () => {
    const account = await newRider();
    const client = createWebClient({ baseUrl: t.api.baseUrl });
    const session = await client.logIn({ email: account.email, password: account.password });
    const ended: SessionEndReason[] = [];
    client.onSessionEnd((reason) => ended.push(reason));
    // Another device logs this session out: its refresh token stops working.
    await createWebClient({ baseUrl: t.api.baseUrl }).call(authRoutes.logout, { body: { refreshToken: session.tokens.refreshToken } });
    const expired = await expiredAccessToken(t.platform, { ...session.user, sessionId: claimsOf(session.tokens.accessToken)['sid'] as string });
    const stale = createWebClient({ baseUrl: t.api.baseUrl, tokens: new MemoryTokenStore({ accessToken: expired, refreshToken: session.tokens.refreshToken, expiresAtMs: Date.now() + 600_000 }) });
    stale.onSessionEnd((reason) => ended.push(reason));
    await assert.rejects(stale.call(meRoutes.me, {}), (error: unknown) => error instanceof ApiError && error.status === 401);
    assert.equal(stale.hasSession(), false);
    assert.deepEqual(ended, ['expired']);
    await client.logOut();
    assert.deepEqual(ended, ['expired', 'logged_out']);
  });

  it('sends an Idempotency-Key on mutating calls (none on reads), the same one for the retry after a refresh', async () => {
    const account = await newRider();
    const first = createWebClient({ baseUrl: t.api.baseUrl });
    const session = await first.logIn({ email: account.email, password: account.password });
    const expired = await expiredAccessToken(t.platform, { ...session.user, sessionId: claimsOf(session.tokens.accessToken)['sid'] as string });
    const client = createWebClient({
      baseUrl: t.api.baseUrl,
      fetch: recordingFetch,
      tokens: new MemoryTokenStore({ accessToken: expired, refreshToken: session.tokens.refreshToken, expiresAtMs: Date.now() + 600_000 }),
    });
    seen.length = 0;
    await client.call(authRoutes.changePassword, { body: { currentPassword: account.password, newPassword: 'brisk-Orchard-52-kettle' } });
    const changes = seen.filter((request) => request.url.endsWith('/v1/auth/password'));
    assert.deepEqual(
      changes.map((request) => request.status),
      [401, 204],
    );
    const [refused, retried] = changes.map((request) => request.headers['idempotency-key']);
    assert.match(refused ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(retried, refused);
    seen.length = 0;
    // Answered or refused: the change of password revokes the session by an event that reaches
    // the gateway within 2 s (edge-security-revocation.test.ts), not before this call. Either way
    // the GET went out, and carried no key.
    await client.call(meRoutes.me, {}).catch(() => undefined);
    assert.ok(seen.length > 0, 'the GET was sent');
    assert.equal(seen[0]?.headers['idempotency-key'], undefined, 'a GET carries none');
  });

  describe('failures that never reach the API', () => {
    let silent: Server;
    let html: Server;
    before(async () => {
      silent = createServer(() => undefined);
      html = createServer((_, response) => response.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad gateway</h1>'));
      await Promise.all([new Promise<void>((done) => silent.listen(0, '127.0.0.1', done)), new Promise<void>((done) => html.listen(0, '127.0.0.1', done))]);
    });
    after(async () => {
      silent.closeAllConnections();
      html.closeAllConnections();
      await Promise.all([new Promise((done) => silent.close(done)), new Promise((done) => html.close(done))]);
    });
    const urlOfServer = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    it('names an answer without the error shape UNEXPECTED_RESPONSE, a refused connection NETWORK_ERROR, a silent server REQUEST_TIMEOUT', async () => {
      await assert.rejects(createWebClient({ baseUrl: urlOfServer(html) }).call(meRoutes.me, {}), { name: 'ApiError', status: 502, code: 'UNEXPECTED_RESPONSE' });
      const closed = createServer();
      await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
      const closedUrl = urlOfServer(closed);
      await new Promise((done) => closed.close(done));
      await assert.rejects(createWebClient({ baseUrl: closedUrl }).call(meRoutes.me, {}), { name: 'ApiError', status: 0, code: 'NETWORK_ERROR' });
      await assert.rejects(createWebClient({ baseUrl: urlOfServer(silent), timeoutMs: 300 }).call(meRoutes.me, {}), { name: 'ApiError', status: 0, code: 'REQUEST_TIMEOUT' });
    });
  });

  it('fills path parameters encoded, leaves out absent query values, and refuses a missing parameter', () => {
    assert.equal(urlOf('http://x', carRoutes.get, { params: { id: 'a b/c' } }), 'http://x/v1/cars/a%20b%2Fc');
    assert.equal(urlOf('', carRoutes.nearby, { query: { lat: 1, lng: 2, category: undefined } }), '/v1/cars/nearby?lat=1&lng=2');
    assert.throws(() => urlOf('', carRoutes.get, {}), /missing path parameter id/);
  });
});
