/**
 * What the public port accepts (issue 13): request strings, integers and arrays are bounded and
 * body objects closed, by defineHttpRoute for contract routes and by the gateway's onRoute hook for
 * hand-written ones; the client's address reaches the user service for its own per-IP limits.
 * Real HTTP on loopback.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultRequestStringMaxLength, defineHttpRoute, type userRpc } from '@carshare/contracts';
import { createObservability } from '@carshare/observability';
import { createHttpServer, type HttpServer, type RpcClient } from '@carshare/platform';
import { Type } from 'typebox';
import type { GatewayService } from '../gateway-service.ts';
import { hardenRouteSchema } from './openapi-document.ts';
import { registerPublicRoutes } from './public-handlers.ts';
import { registerPublicRoute } from './public-route.ts';
import { routeDepsFor } from '../testing/route-deps.ts';

const observability = createObservability({ service: 'gateway', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });

async function listen(server: HttpServer): Promise<string> {
  await server.listen({ host: '127.0.0.1', port: 0 });
  const address = server.server.address();
  assert.ok(address && typeof address === 'object');
  return `http://127.0.0.1:${address.port}`;
}

/** A contract that, like most, says nothing about lengths, counts or unknown fields. */
const noteRoute = defineHttpRoute({
  method: 'POST',
  url: '/v1/test/notes',
  summary: 'test route',
  tags: ['test'],
  access: 'public',
  body: Type.Object({ text: Type.String(), tags: Type.Optional(Type.Array(Type.String())), count: Type.Optional(Type.Integer()) }),
  querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }) }),
  successStatus: 200,
  response: Type.Object({ text: Type.String(), limit: Type.Integer() }),
});

describe('request bounds on the public port', () => {
  let server: HttpServer;
  let base: string;

  before(async () => {
    server = createHttpServer({ observability, errorStyle: 'public', trustDeadlineHeader: false });
    server.addHook('onRoute', hardenRouteSchema);
    registerPublicRoute(server, noteRoute, routeDepsFor([]), async ({ body, query }) => ({ text: body.text, limit: query.limit }));
    // Mounted by hand, with a schema no contract hardened.
    server.post('/v1/test/raw', { schema: { body: Type.Object({ name: Type.String() }) } }, async (request) => request.body);
    base = await listen(server);
  });
  after(() => server.close());

  async function post(path: string, body: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, body: await response.json() };
  }

  it('answers 400 with the field for a string longer than the default bound, and takes one at the bound', async () => {
    const atBound = await post('/v1/test/notes', { text: 'x'.repeat(defaultRequestStringMaxLength) });
    assert.equal(atBound.status, 200);
    const over = await post('/v1/test/notes', { text: 'x'.repeat(defaultRequestStringMaxLength + 1) });
    assert.equal(over.status, 400);
    assert.equal(over.body.error.code, 'VALIDATION_FAILED');
    assert.match(JSON.stringify(over.body.error.details), /text/);
  });

  it('bounds routes mounted by hand too', async () => {
    assert.equal((await post('/v1/test/raw', { name: 'ok' })).status, 200);
    assert.equal((await post('/v1/test/raw', { name: 'x'.repeat(defaultRequestStringMaxLength + 1) })).status, 400);
    assert.equal((await post('/v1/test/raw', { name: 'ok', role: 'admin' })).status, 400);
  });

  it('refuses unknown body fields, control characters, oversized arrays and unsafe integers', async () => {
    assert.equal((await post('/v1/test/notes', { text: 'hi', isAdmin: true })).status, 400);
    assert.equal((await post('/v1/test/notes', { text: 'line\u001b[31m' })).status, 400);
    assert.equal((await post('/v1/test/notes', { text: 'tab\tand\nnewline' })).status, 200);
    assert.equal((await post('/v1/test/notes', { text: 'hi', tags: Array.from({ length: 101 }, () => 'a') })).status, 400);
    assert.equal((await post('/v1/test/notes', { text: 'hi', count: 2 ** 60 })).status, 400);
  });

  it('fills a defaulted query field the client left out (documented as not required)', async () => {
    const answer = await post('/v1/test/notes', { text: 'hi' });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.limit, 20);
    assert.equal((noteRoute.querystring as { required?: string[] }).required, undefined);
  });
});

describe('the client address reaches the user service', () => {
  const seen: Array<{ method: string; input: any }> = [];
  const session = {
    user: { id: '0190f000-0000-7000-8000-000000000001', email: 'a@example.org', displayName: 'A', role: 'rider', plan: 'free', status: 'active', createdAt: new Date(0).toISOString(), emailVerified: true },
    tokens: { tokenType: 'Bearer', accessToken: 'a', expiresIn: 900, refreshToken: 'r' },
    deviceToken: 'device-token-0123456789',
  };
  const user = {
    Register: async (input: unknown) => (seen.push({ method: 'Register', input }), { status: 'verification_sent', message: 'sent' }),
    Login: async (input: unknown) => (seen.push({ method: 'Login', input }), session),
    RequestPasswordReset: async (input: unknown) => (seen.push({ method: 'RequestPasswordReset', input }), { status: 'reset_mail_sent_if_registered', message: 'sent' }),
  } as unknown as RpcClient<typeof userRpc.methods>;
  const servers: HttpServer[] = [];

  async function gatewayWith(trustProxy: boolean): Promise<string> {
    const server = createHttpServer({ observability, errorStyle: 'public', trustDeadlineHeader: false, trustProxy });
    registerPublicRoutes(server, routeDepsFor([]), user, {} as GatewayService);
    servers.push(server);
    return listen(server);
  }

  after(() => Promise.all(servers.map((server) => server.close())));

  async function callAll(base: string, headers: Record<string, string>): Promise<void> {
    seen.length = 0;
    const send = (path: string, body: unknown) =>
      fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const answers = await Promise.all([
      send('/v1/auth/register', { email: 'a@example.org', password: 'correct horse battery', displayName: 'A' }),
      send('/v1/auth/login', { email: 'a@example.org', password: 'correct horse battery', deviceToken: 'device-token-0123456789' }),
      send('/v1/auth/password-reset', { email: 'a@example.org' }),
    ]);
    assert.deepEqual(
      answers.map((answer) => answer.status),
      [202, 200, 202],
    );
  }

  it('behind a trusted proxy: the forwarded client address, on Register, Login and RequestPasswordReset', async () => {
    const base = await gatewayWith(true);
    await callAll(base, { 'x-forwarded-for': '203.0.113.7' });
    assert.deepEqual(
      seen.map(({ method, input }) => [method, input.client?.ip]).sort(),
      [
        ['Login', '203.0.113.7'],
        ['Register', '203.0.113.7'],
        ['RequestPasswordReset', '203.0.113.7'],
      ],
    );
    assert.equal(seen.find(({ method }) => method === 'Login')?.input.client.deviceToken, 'device-token-0123456789');
  });

  it('without a trusted proxy: the socket address, whatever X-Forwarded-For claims', async () => {
    const base = await gatewayWith(false);
    await callAll(base, { 'x-forwarded-for': '203.0.113.7' });
    assert.deepEqual(new Set(seen.map(({ input }) => input.client?.ip)), new Set(['127.0.0.1']));
  });
});
