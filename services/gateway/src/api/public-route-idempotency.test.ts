import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import swagger from '@fastify/swagger';
import { adminFaultRoutes, adminUserRoutes, authRoutes, defineHttpRoute, userRpc, type User } from '@carshare/contracts';
import { createObservability } from '@carshare/observability';
import {
  NotFound,
  ResourceExhausted,
  StaticDiscovery,
  Unauthenticated,
  Unavailable,
  createHttpServer,
  createRpcClient,
  registerRpcService,
  systemClock,
  type HttpServer,
  type VerifiedCaller,
  type RpcHandlers,
} from '@carshare/platform';
import { Redis } from 'ioredis';
import { Type, type Static } from 'typebox';
import { MemoryIdempotencyStore } from '../adapters/memory-idempotency-store.ts';
import { RedisIdempotencyStore } from '../adapters/redis-idempotency-store.ts';
import type { IdempotencyStore } from '../ports.ts';
import { registerPublicRoute } from './public-route.ts';
import { routeDepsFor } from '../testing/route-deps.ts';

const observability = createObservability({ service: 'gateway', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });

const callers: Record<string, VerifiedCaller> = {
  'operator-token': { userId: '0190f000-0000-7000-8000-000000000001', role: 'operator', plan: 'unlimited', token: 'operator-token', issuedAtMs: 0 },
  'other-operator-token': { userId: '0190f000-0000-7000-8000-000000000002', role: 'operator', plan: 'unlimited', token: 'other-operator-token', issuedAtMs: 0 },
};
const target = '0190f000-0000-7000-8000-00000000000a';

/** A route that must have a key, like starting a trip; it suspends a user to have a downstream call to count. */
const requiredRoute = defineHttpRoute({
  method: 'POST',
  url: '/v1/test/required-key',
  summary: 'test route',
  tags: ['test'],
  access: 'operator',
  idempotencyKey: 'required',
  body: Type.Object({ reason: Type.String() }, { additionalProperties: false }),
  successStatus: 201,
  response: Type.Object({ id: Type.String(), reason: Type.String() }),
});

/**
 * The user service as the gateway sees it over RPC, counting the calls that reach it. A call can
 * be held open (`hold`) to keep its request in flight, or made to fail once (`failNext`).
 */
class CountingUserService {
  calls: { method: string; input: unknown }[] = [];
  failNext: Error | undefined;
  #held: { promise: Promise<void>; open: () => void } | undefined;

  hold(): () => void {
    let open = () => {};
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.#held = { promise, open };
    return () => {
      this.#held = undefined;
      open();
    };
  }

  async answer<T>(method: string, input: unknown, value: () => T): Promise<T> {
    this.calls.push({ method, input });
    await this.#held?.promise;
    const failure = this.failNext;
    this.failNext = undefined;
    if (failure) throw failure;
    return value();
  }

  count(method: string): number {
    return this.calls.filter((call) => call.method === method).length;
  }
}

function wireUser(id: string, reason: string): Static<typeof User> {
  return {
    id,
    email: 'rider@example.com',
    displayName: 'Rider',
    role: 'rider',
    plan: 'free',
    status: 'suspended',
    createdAt: '2026-03-01T10:00:00.000Z',
    emailVerified: true,
    suspendedReason: `${reason} #${randomUUID()}`,
  };
}

/** Every store the gateway may run on: memory always, Redis when REDIS_URL is set. */
const stores: { name: string; make: () => IdempotencyStore; cleanUp?: () => Promise<void> }[] = [
  { name: 'memory', make: () => new MemoryIdempotencyStore({ lockTtlMs: 60_000, retentionMs: 24 * 60 * 60_000 }) },
];
const redisUrl = process.env.REDIS_URL;
if (redisUrl) {
  // Every run writes under its own prefix, so parallel runs and other users of this Redis never meet.
  const keyPrefix = `carshare:test:idempotency-http:${randomUUID()}:`;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  stores.push({
    name: 'Redis',
    make: () => new RedisIdempotencyStore({ redis, keyPrefix, lockTtlMs: 60_000, retentionMs: 24 * 60 * 60_000 }),
    async cleanUp() {
      const keys = await redis.keys(`${keyPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    },
  });
}

for (const { name: storeName, make: makeStore, cleanUp } of stores) describe(`Idempotency-Key on public routes (${storeName} store)`, () => {
  const userService = new CountingUserService();
  let userServer: HttpServer;
  let gateway: HttpServer;
  let base: string;
  let storeDown = false;
  let rpcClient: ReturnType<typeof createRpcClient<typeof userRpc.methods>>;

  before(async () => {
    userServer = createHttpServer({ observability, errorStyle: 'rpc' });
    const handlers = {
      SuspendUser: (input) =>
        userService.answer('SuspendUser', input, () => {
          if (input.userId === '0190f000-0000-7000-8000-0000000000ff') throw NotFound('USER_NOT_FOUND', 'no such user', { userId: input.userId });
          return wireUser(input.userId, input.reason);
        }),
      Register: (input) =>
        // A different message every time: a replay is told apart from a second run by its text.
        userService.answer('Register', input, () => ({ status: 'verification_sent' as const, message: `mail sent to ${input.email} #${randomUUID()}` })),
      Logout: (input) => userService.answer('Logout', input, () => ({})),
    } as Partial<RpcHandlers<typeof userRpc.methods>> as RpcHandlers<typeof userRpc.methods>;
    registerRpcService(userServer, userRpc, handlers, { observability, authenticate: async (token) => callers[token] as VerifiedCaller });
    await userServer.listen({ host: '127.0.0.1', port: 0 });
    const userAddress = userServer.server.address();
    assert.ok(userAddress && typeof userAddress === 'object');
    rpcClient = createRpcClient(userRpc, { discovery: new StaticDiscovery({ user: [`http://127.0.0.1:${userAddress.port}`] }), observability });

    const clock = systemClock;
    const memory = makeStore();
    // Lets one test take the store away without another adapter.
    const store: IdempotencyStore = {
      claim: (...args) => (storeDown ? Promise.reject(new Error('connection refused')) : memory.claim(...args)),
      complete: (...args) => memory.complete(...args),
      release: (...args) => memory.release(...args),
      close: () => memory.close(),
    };
    const deps = routeDepsFor(Object.values(callers), { idempotencyStore: store, clock });
    gateway = createHttpServer({ observability, errorStyle: 'public', clock, trustDeadlineHeader: false });
    await gateway.register(swagger, {
      openapi: { openapi: '3.1.0', info: { title: 'test', version: '1' }, components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } } },
    });
    // The real route contracts with handlers like the gateway's own: one RPC call each.
    registerPublicRoute(gateway, authRoutes.register, deps, ({ body, ctx }) => rpcClient.Register(body, ctx));
    registerPublicRoute(gateway, authRoutes.logout, deps, async ({ body, ctx }) => {
      await rpcClient.Logout(body, ctx);
      return null;
    });
    registerPublicRoute(gateway, adminUserRoutes.suspend, deps, ({ params, body, ctx }) => rpcClient.SuspendUser({ userId: params.id, reason: body.reason }, ctx));
    registerPublicRoute(gateway, adminUserRoutes.reactivate, deps, ({ params, ctx }) => rpcClient.ReactivateUser({ userId: params.id }, ctx));
    registerPublicRoute(gateway, adminFaultRoutes.list, deps, async () => ({ items: [], recentChanges: [] }));
    registerPublicRoute(gateway, requiredRoute, deps, async ({ body, ctx }) => {
      const suspended = await rpcClient.SuspendUser({ userId: target, reason: body.reason }, ctx);
      return { id: suspended.id, reason: suspended.suspendedReason ?? '' };
    });
    await gateway.listen({ host: '127.0.0.1', port: 0 });
    const address = gateway.server.address();
    assert.ok(address && typeof address === 'object');
    base = `http://127.0.0.1:${address.port}`;
  });

  after(async () => {
    await gateway?.close();
    await rpcClient?.close();
    await userServer?.close();
    await cleanUp?.();
  });

  beforeEach(() => {
    userService.calls = [];
    storeDown = false;
  });

  interface Sent {
    status: number;
    text: string;
    headers: Headers;
    json: () => { error?: { code: string; details: Record<string, unknown>; traceId: string } };
  }

  async function send(method: string, path: string, options: { body?: unknown; key?: string; token?: string | null; headers?: Record<string, string> } = {}): Promise<Sent> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.token !== null) headers['authorization'] = `Bearer ${options.token ?? 'operator-token'}`;
    if (options.key !== undefined) headers['idempotency-key'] = options.key;
    const response = await fetch(`${base}${path}`, {
      method,
      headers,
      ...(options.body !== undefined && { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
    });
    const text = await response.text();
    return { status: response.status, text, headers: response.headers, json: () => JSON.parse(text) };
  }

  const suspendPath = `/v1/admin/users/${target}/suspend`;

  /** Until the first request has reached the service (and so holds its key). */
  async function inFlight(method: string): Promise<void> {
    for (let waited = 0; userService.count(method) === 0; waited += 2) {
      assert.ok(waited < 2_000, `${method} never reached the service`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  it('runs concurrent identical requests with one key exactly once downstream; the others are told it is in flight', async () => {
    const key = randomUUID();
    const release = userService.hold();
    const first = send('POST', suspendPath, { key, body: { reason: 'fraud' } });
    let others: Sent[];
    try {
      await inFlight('SuspendUser');
      others = await Promise.all(Array.from({ length: 8 }, () => send('POST', suspendPath, { key, body: { reason: 'fraud' } })));
    } finally {
      release();
    }
    for (const other of others) {
      assert.equal(other.status, 409, other.text);
      assert.equal(other.json().error?.code, 'IDEMPOTENCY_KEY_IN_USE');
      assert.equal(other.headers.get('retry-after'), '1');
    }
    const answered = await first;
    assert.equal(answered.status, 200, answered.text);
    assert.equal(answered.headers.get('idempotency-replayed'), null);
    assert.equal(userService.count('SuspendUser'), 1);

    const replay = await send('POST', suspendPath, { key, body: { reason: 'fraud' } });
    assert.equal(replay.status, 200);
    assert.equal(replay.text, answered.text, 'the first answer, byte for byte (its random suffix included)');
    assert.equal(replay.headers.get('idempotency-replayed'), 'true');
    assert.match(replay.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(userService.count('SuspendUser'), 1, 'a replay does not reach the service');
  });

  it('lets exactly one of many simultaneous first requests through', async () => {
    const key = randomUUID();
    const answers = await Promise.all(Array.from({ length: 12 }, () => send('POST', suspendPath, { key, body: { reason: 'burst' } })));
    assert.equal(userService.count('SuspendUser'), 1);
    const statuses = answers.map((answer) => answer.status).sort();
    // Whoever arrives after the first finished gets its replay; whoever overlaps it, a 409.
    assert.ok(statuses.every((status) => status === 200 || status === 409), statuses.join());
    const ran = answers.filter((answer) => answer.status === 200 && answer.headers.get('idempotency-replayed') === null);
    assert.equal(ran.length, 1);
    for (const replayed of answers.filter((answer) => answer.headers.get('idempotency-replayed') === 'true')) assert.equal(replayed.text, ran[0]?.text);
  });

  it('treats the same body with its keys in another order as the same request', async () => {
    const key = randomUUID();
    const first = await send('POST', '/v1/auth/register', { key, token: null, body: { email: 'a@example.com', password: 'correct horse battery', displayName: 'A' } });
    assert.equal(first.status, authRoutes.register.successStatus, first.text);
    const reordered = await send('POST', '/v1/auth/register', { key, token: null, body: '{ "displayName": "A", "password": "correct horse battery", "email": "a@example.com" }' });
    assert.equal(reordered.status, authRoutes.register.successStatus);
    assert.equal(reordered.headers.get('idempotency-replayed'), 'true');
    assert.equal(reordered.text, first.text);
    assert.equal(userService.count('Register'), 1);
  });

  it('refuses the same key with a different body, or on a different route, with 422', async () => {
    const key = randomUUID();
    assert.equal((await send('POST', suspendPath, { key, body: { reason: 'one' } })).status, 200);
    const otherBody = await send('POST', suspendPath, { key, body: { reason: 'two' } });
    assert.equal(otherBody.status, 422, otherBody.text);
    assert.equal(otherBody.json().error?.code, 'IDEMPOTENCY_KEY_REUSED');
    assert.ok(otherBody.json().error?.traceId);
    const otherRoute = await send('POST', `/v1/admin/users/${target}/reactivate`, { key });
    assert.equal(otherRoute.status, 422, otherRoute.text);
    assert.equal(userService.count('SuspendUser'), 1);
  });

  it('refuses a different body with 422 even while the first request is in flight', async () => {
    const key = randomUUID();
    const release = userService.hold();
    const first = send('POST', suspendPath, { key, body: { reason: 'one' } });
    let other: Sent;
    try {
      await inFlight('SuspendUser');
      other = await send('POST', suspendPath, { key, body: { reason: 'two' } });
    } finally {
      release();
    }
    assert.equal(other.status, 422, other.text);
    assert.equal((await first).status, 200);
  });

  it('asks for a key where the contract requires one (400), and takes none there without', async () => {
    const missing = await send('POST', requiredRoute.url, { body: { reason: 'x' } });
    assert.equal(missing.status, 400, missing.text);
    assert.equal(missing.json().error?.code, 'IDEMPOTENCY_KEY_REQUIRED');
    assert.equal(userService.count('SuspendUser'), 0);
    const keyed = await send('POST', requiredRoute.url, { key: randomUUID(), body: { reason: 'x' } });
    assert.equal(keyed.status, 201, keyed.text);
  });

  it('refuses malformed keys with 400 before anything runs', async () => {
    for (const key of ['', 'has space', 'x'.repeat(256), '"unterminated', 'quote"inside', 'back\\slash']) {
      const answer = await send('POST', suspendPath, { key, body: { reason: 'x' } });
      assert.equal(answer.status, 400, `${JSON.stringify(key)}: ${answer.text}`);
      assert.equal(answer.json().error?.code, 'IDEMPOTENCY_KEY_MALFORMED', JSON.stringify(key));
    }
    assert.equal(userService.count('SuspendUser'), 0);
    const quoted = await send('POST', suspendPath, { key: `"${randomUUID()}"`, body: { reason: 'x' } });
    assert.equal(quoted.status, 200, 'the draft’s sf-string form is accepted');
  });

  it('runs every request without a key on an optional route', async () => {
    await send('POST', suspendPath, { body: { reason: 'x' } });
    await send('POST', suspendPath, { body: { reason: 'x' } });
    assert.equal(userService.count('SuspendUser'), 2);
  });

  it('keeps the keys of different callers apart', async () => {
    const key = randomUUID();
    const mine = await send('POST', suspendPath, { key, body: { reason: 'x' } });
    const theirs = await send('POST', suspendPath, { key, token: 'other-operator-token', body: { reason: 'x' } });
    assert.equal(theirs.status, 200);
    assert.equal(theirs.headers.get('idempotency-replayed'), null);
    assert.notEqual(theirs.text, mine.text);
    assert.equal(userService.count('SuspendUser'), 2);
  });

  it('scopes anonymous callers by address', async () => {
    const key = randomUUID();
    const payload = JSON.stringify({ refreshToken: 'r-1' });
    const from = (remoteAddress: string) =>
      gateway.inject({ method: 'POST', url: '/v1/auth/logout', remoteAddress, headers: { 'content-type': 'application/json', 'idempotency-key': key }, payload });
    assert.equal((await from('203.0.113.1')).statusCode, 204);
    const again = await from('203.0.113.1');
    assert.equal(again.statusCode, 204);
    assert.equal(again.headers['idempotency-replayed'], 'true');
    assert.equal(again.body, '');
    const elsewhere = await from('203.0.113.2');
    assert.equal(elsewhere.headers['idempotency-replayed'], undefined);
    assert.equal(userService.count('Logout'), 2);
  });

  it('replays a client error, but frees the key after a 5xx so the retry runs', async () => {
    const key = randomUUID();
    const missingUser = '/v1/admin/users/0190f000-0000-7000-8000-0000000000ff/suspend';
    const notFound = await send('POST', missingUser, { key, body: { reason: 'x' } });
    assert.equal(notFound.status, 404);
    const replayed = await send('POST', missingUser, { key, body: { reason: 'x' } });
    assert.equal(replayed.status, 404);
    assert.equal(replayed.headers.get('idempotency-replayed'), 'true');
    assert.equal(replayed.text, notFound.text);
    assert.equal(userService.count('SuspendUser'), 1);

    const retryKey = randomUUID();
    userService.failNext = Unavailable('USER_DOWN', 'down for a moment');
    const failed = await send('POST', suspendPath, { key: retryKey, body: { reason: 'x' } });
    assert.equal(failed.status, 503, failed.text);
    const retried = await send('POST', suspendPath, { key: retryKey, body: { reason: 'x' } });
    assert.equal(retried.status, 200, retried.text);
    assert.equal(retried.headers.get('idempotency-replayed'), null);
    assert.equal(userService.count('SuspendUser'), 3);
  });

  it('frees the key after a 401 or 429 from the service, so the retry with renewed credentials runs', async () => {
    for (const failure of [Unauthenticated('TOKEN_EXPIRED', 'renew it'), ResourceExhausted('SLOW_DOWN', 'later', { retryAfterMs: 1 })]) {
      const key = randomUUID();
      const before = userService.count('SuspendUser');
      userService.failNext = failure;
      const refused = await send('POST', suspendPath, { key, body: { reason: 'x' } });
      assert.ok(refused.status === 401 || refused.status === 429, refused.text);
      const retried = await send('POST', suspendPath, { key, body: { reason: 'x' } });
      assert.equal(retried.status, 200, retried.text);
      assert.equal(retried.headers.get('idempotency-replayed'), null);
      assert.equal(userService.count('SuspendUser'), before + 2);
    }
  });

  it('holds no key for a request refused before it ran (no token)', async () => {
    const key = randomUUID();
    assert.equal((await send('POST', suspendPath, { key, token: null, body: { reason: 'x' } })).status, 401);
    const authenticated = await send('POST', suspendPath, { key, body: { reason: 'x' } });
    assert.equal(authenticated.status, 200);
    assert.equal(authenticated.headers.get('idempotency-replayed'), null);
  });

  it('refuses a keyed call with 503 when the store cannot be asked, rather than risk a second effect', async () => {
    storeDown = true;
    const answer = await send('POST', suspendPath, { key: randomUUID(), body: { reason: 'x' } });
    assert.equal(answer.status, 503, answer.text);
    assert.equal(answer.json().error?.code, 'IDEMPOTENCY_STORE_UNAVAILABLE');
    assert.equal(userService.count('SuspendUser'), 0);
    assert.equal((await send('POST', suspendPath, { body: { reason: 'x' } })).status, 200, 'calls without a key go on');
  });

  it('ignores a key on a read', async () => {
    const answer = await send('GET', '/v1/admin/faults', { key: 'has space' });
    assert.equal(answer.status, 200, answer.text);
  });

  it('shows the header in the OpenAPI document, required or optional as the contract says, and not on reads', () => {
    const document = gateway.swagger() as { paths: Record<string, Record<string, { parameters?: { in: string; name: string; required?: boolean }[] }>> };
    const keyParameter = (path: string, method: string) => document.paths[path]?.[method]?.parameters?.find((parameter) => parameter.in === 'header' && parameter.name === 'idempotency-key');
    assert.equal(keyParameter('/v1/test/required-key', 'post')?.required, true);
    assert.equal(keyParameter('/v1/admin/users/{id}/suspend', 'post')?.required, false);
    assert.equal(keyParameter('/v1/admin/faults', 'get'), undefined);
  });
});
