import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { carRpc, tripRpc } from '@carshare/contracts';
import { createObservability } from '@carshare/observability';
import { NotFound, createHttpServer, systemClock, type HttpServer, type RpcClient, type VerifiedCaller } from '@carshare/platform';
import { registerTripRoutes } from './trip-handlers.ts';
import { routeDepsFor } from '../testing/route-deps.ts';

// GET /v1/cars/:id/price-preview through the gateway's real route stack (token, schemas, error
// shape) on loopback, onto recording stand-ins of the car and trip RPC clients.

const observability = createObservability({ service: 'gateway', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });
const rider: VerifiedCaller = { userId: '0190f000-0000-7000-8000-000000000001', role: 'rider', plan: 'free', token: 'rider-token', issuedAtMs: Date.UTC(2026, 0, 1) };
const vanId = '0190f000-0000-7000-8000-0000000000c1';
const unknownId = '0190f000-0000-7000-8000-0000000000c9';

type Call = { method: string; input: Record<string, unknown> };

function recordingClient<T>(calls: Call[], answer: (method: string, input: Record<string, unknown>) => unknown): T {
  return new Proxy({} as object, {
    get: (_target, method: string) => async (input: Record<string, unknown>) => {
      calls.push({ method, input });
      return answer(method, input);
    },
  }) as T;
}

const previewWire = (input: Record<string, unknown>) => ({
  category: input['category'],
  minutes: input['minutes'],
  km: input['km'],
  currency: 'EUR',
  tariffVersion: '2026-12-01',
  meteredLines: [{ code: 'unlock', description: 'Unlock', quantity: 1, unitCents: 199, cents: 199 }],
  meteredCents: 199,
  packageApplied: null,
  totalCents: 199,
  vatCents: 32,
});

describe('gateway GET /v1/cars/:id/price-preview', () => {
  const calls: Call[] = [];
  let gateway: HttpServer;
  let base: string;

  before(async () => {
    const car = recordingClient<RpcClient<typeof carRpc.methods>>(calls, (_method, input) => {
      if (input['carId'] !== vanId) throw NotFound('CAR_NOT_FOUND', 'no such car', { carId: input['carId'] });
      return { id: vanId, category: 'van' };
    });
    const trip = recordingClient<RpcClient<typeof tripRpc.methods>>(calls, (_method, input) => previewWire(input));
    gateway = createHttpServer({ observability, errorStyle: 'public', clock: systemClock, trustDeadlineHeader: false });
    registerTripRoutes(
      gateway,
      routeDepsFor([rider]),
      trip,
      car,
    );
    await gateway.listen({ host: '127.0.0.1', port: 0 });
    const address = gateway.server.address();
    assert.ok(address && typeof address === 'object');
    base = `http://127.0.0.1:${address.port}`;
  });
  after(() => gateway.close());
  beforeEach(() => {
    calls.length = 0;
  });

  const get = (path: string, token: string | undefined = rider.token) => fetch(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it("prices the car's category with the planned minutes and km: the car service names the category, the trip service prices it", async () => {
    const response = await get(`/v1/cars/${vanId}/price-preview?minutes=45&km=12.5`);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { category: string; minutes: number; km: number; totalCents: number; packageApplied: unknown };
    assert.deepEqual({ category: body.category, minutes: body.minutes, km: body.km, totalCents: body.totalCents, packageApplied: body.packageApplied }, { category: 'van', minutes: 45, km: 12.5, totalCents: 199, packageApplied: null });
    assert.deepEqual(calls, [
      { method: 'GetCar', input: { carId: vanId } },
      { method: 'PreviewPrice', input: { category: 'van', minutes: 45, km: 12.5 } },
    ]);
  });

  it('plans 30 minutes and 10 km when the query says nothing', async () => {
    const response = await get(`/v1/cars/${vanId}/price-preview`);
    assert.equal(response.status, 200);
    assert.deepEqual(calls.at(-1), { method: 'PreviewPrice', input: { category: 'van', minutes: 30, km: 10 } });
  });

  it('an unknown car is 404 CAR_NOT_FOUND and nothing is priced', async () => {
    const response = await get(`/v1/cars/${unknownId}/price-preview?minutes=30&km=10`);
    assert.equal(response.status, 404);
    const body = (await response.json()) as { error: { code: string; traceId: string } };
    assert.equal(body.error.code, 'CAR_NOT_FOUND');
    assert.ok(body.error.traceId);
    assert.equal(calls.filter((call) => call.method === 'PreviewPrice').length, 0);
  });

  for (const [name, query, field] of [
    ['0 minutes', 'minutes=0&km=10', '/minutes'],
    ['more than a day', 'minutes=1441&km=10', '/minutes'],
    ['fractional minutes', 'minutes=2.5&km=10', '/minutes'],
    ['minutes that are not a number', 'minutes=soon&km=10', '/minutes'],
    ['negative km', 'minutes=30&km=-1', '/km'],
    ['over 1,000 km', 'minutes=30&km=1000.5', '/km'],
    ['an unknown parameter', 'minutes=30&km=10&discount=99', '/'],
  ] as const) {
    it(`answers 400 with the field to ${name}, before asking any service`, async () => {
      const response = await get(`/v1/cars/${vanId}/price-preview?${query}`);
      assert.equal(response.status, 400, await response.clone().text());
      const body = (await response.json()) as { error: { code: string; details: { part: string; problems: { path: string }[] } } };
      assert.equal(body.error.code, 'VALIDATION_FAILED');
      assert.deepEqual({ part: body.error.details.part, paths: body.error.details.problems.map((problem) => problem.path) }, { part: 'querystring', paths: [field] });
      assert.deepEqual(calls, []);
    });
  }

  it('a malformed car id is 400, no token is 401', async () => {
    assert.equal((await get('/v1/cars/not-a-uuid/price-preview')).status, 400);
    assert.equal((await get(`/v1/cars/${vanId}/price-preview`, '')).status, 401);
    assert.deepEqual(calls, []);
  });
});
