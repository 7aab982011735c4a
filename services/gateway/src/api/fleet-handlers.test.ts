import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Car, carRpc } from '@carshare/contracts';
import { createObservability } from '@carshare/observability';
import {
  InvalidArgument,
  NotFound,
  createHttpServer,
  systemClock,
  type Caller,
  type HttpServer,
  type RpcClient,
  type VerifiedCaller,
} from '@carshare/platform';
import { registerFleetRoutes } from './fleet-handlers.ts';
import { defaultGbfsSystem, type GbfsSystem } from './gbfs-handlers.ts';
import { routeDepsFor } from '../testing/route-deps.ts';

const observability = createObservability({ service: 'gateway', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });
const rider: VerifiedCaller = { userId: '0190f000-0000-7000-8000-000000000001', role: 'rider', plan: 'free', token: 'rider-token', issuedAtMs: Date.UTC(2026, 0, 1) };
const operator: VerifiedCaller = { userId: '0190f000-0000-7000-8000-000000000002', role: 'operator', plan: 'unlimited', token: 'operator-token', issuedAtMs: Date.UTC(2026, 0, 1) };
const carId = '0190f000-0000-7000-8000-0000000000c1';
const gbfs: GbfsSystem = { ...defaultGbfsSystem, systemId: 'stadtauto', operator: 'Stadtauto GmbH', timezone: 'Europe/Vienna', language: 'de' };

/** A car as the car service answers it; `changes` on top. */
function aCar(changes: Partial<Car> = {}): Car {
  return {
    id: carId,
    plate: 'B-FH 1',
    vin: 'WVWZZZ1JZ3W000001',
    model: 'VW ID.3',
    category: 'compact',
    seats: 5,
    fuelType: 'electric',
    homeZone: null,
    trackerId: null,
    state: 'available',
    reservationId: null,
    position: { lat: 52.52, lng: 13.405 },
    speedKph: 0,
    headingDeg: 0,
    energyPct: 80,
    odometerKm: 1200,
    locked: true,
    version: 3,
    lastSeenAt: '2026-03-01T07:59:58.000Z',
    createdAt: '2026-03-01T07:00:00.000Z',
    updatedAt: '2026-03-01T07:59:58.000Z',
    ...changes,
  };
}

/** The car service as the gateway's client sees it: records each call, answers what a test sets. */
class FakeCarClient {
  calls: { method: string; input: Record<string, unknown>; caller: Caller | undefined }[] = [];
  answer: (method: string, input: Record<string, unknown>) => unknown = () => ({});

  client(): RpcClient<typeof carRpc.methods> {
    return new Proxy({} as RpcClient<typeof carRpc.methods>, {
      get: (_target, method: string) => async (input: Record<string, unknown>, ctx: { caller: Caller | undefined }) => {
        this.calls.push({ method, input, caller: ctx.caller });
        return this.answer(method, input);
      },
    });
  }
}

interface ErrorBody {
  error: { code: string; message: string; traceId: string };
}

describe('gateway fleet routes (cars, admin cars, devices, GBFS)', () => {
  const car = new FakeCarClient();
  let gateway: HttpServer;
  let base: string;

  before(async () => {
    gateway = createHttpServer({ observability, errorStyle: 'public', clock: systemClock, trustDeadlineHeader: false });
    registerFleetRoutes(
      gateway,
      routeDepsFor([rider, operator]),
      car.client(),
      gbfs,
    );
    await gateway.listen({ host: '127.0.0.1', port: 0 });
    const address = gateway.server.address();
    assert.ok(address && typeof address === 'object');
    base = `http://127.0.0.1:${address.port}`;
  });
  after(() => gateway.close());
  beforeEach(() => {
    car.calls = [];
    car.answer = () => ({});
  });

  async function call(method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(options.token !== undefined && { authorization: `Bearer ${options.token}` }),
        ...(options.body !== undefined && { 'content-type': 'application/json' }),
        ...options.headers,
      },
      ...(options.body !== undefined && { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  }

  /** A 4xx in the public error shape, and no call reached the car service. */
  function assertRefused(answer: Awaited<ReturnType<typeof call>>, status: number, code?: string): void {
    assert.equal(answer.status, status, answer.text);
    const { error } = answer.body as ErrorBody;
    assert.equal(typeof error.message, 'string');
    assert.equal(typeof error.traceId, 'string');
    if (code) assert.equal(error.code, code, answer.text);
    assert.deepEqual(car.calls, [], 'nothing reached the car service');
  }

  const userRoutes: Array<[string, string]> = [
    ['GET', '/v1/cars/nearby?lat=52.52&lng=13.4'],
    ['GET', `/v1/cars/${carId}`],
  ];
  const operatorRoutes: Array<[string, string, unknown?]> = [
    ['GET', '/v1/admin/cars'],
    ['GET', `/v1/admin/cars/${carId}`],
    ['POST', '/v1/admin/cars', { plate: 'B-FH 2', vin: 'WVWZZZ1JZ3W000002', model: 'VW ID.3', category: 'compact', seats: 5, fuelType: 'electric' }],
    ['PATCH', `/v1/admin/cars/${carId}`, { model: 'VW ID.4', expectedVersion: 3 }],
    ['PUT', `/v1/admin/cars/${carId}/maintenance`, { on: true }],
    ['POST', `/v1/admin/cars/${carId}/device-secret`],
    ['DELETE', `/v1/admin/cars/${carId}`],
  ];

  it('asks for an access token on every rider and operator route, and refuses a bad one', async () => {
    for (const [method, path, body] of [...userRoutes, ...operatorRoutes]) {
      assertRefused(await call(method, path, { body }), 401, 'AUTHENTICATION_REQUIRED');
      assertRefused(await call(method, path, { body, token: 'forged' }), 401);
    }
  });

  it('keeps riders out of every operator route', async () => {
    for (const [method, path, body] of operatorRoutes) assertRefused(await call(method, path, { body, token: rider.token }), 403);
  });

  it('maps each operator route to one car-service call with the caller, the path id and the body', async () => {
    car.answer = (method) =>
      ({
        ListCars: { items: [aCar()], nextCursor: null },
        CreateCar: { car: aCar(), deviceSecret: 'shown-once' },
        DeleteCar: null,
        RotateDeviceSecret: { car: aCar(), deviceSecret: 'new-secret' },
      })[method] ?? aCar();
    const expected: Array<[string, Record<string, unknown>, number]> = [
      ['ListCars', { limit: 20 }, 200],
      ['GetCar', { carId }, 200],
      ['CreateCar', { plate: 'B-FH 2', vin: 'WVWZZZ1JZ3W000002', model: 'VW ID.3', category: 'compact', seats: 5, fuelType: 'electric' }, 201],
      ['UpdateCar', { carId, model: 'VW ID.4', expectedVersion: 3 }, 200],
      ['SetMaintenance', { carId, on: true }, 200],
      ['RotateDeviceSecret', { carId }, 200],
      ['DeleteCar', { carId }, 204],
    ];
    for (const [index, [method, path, body]] of operatorRoutes.entries()) {
      car.calls = [];
      const answer = await call(method, path, { body, token: operator.token });
      const [rpc, input, status] = expected[index]!;
      assert.equal(answer.status, status, `${method} ${path}: ${answer.text}`);
      assert.deepEqual(
        car.calls.map((entry) => [entry.method, entry.input, entry.caller?.userId]),
        [[rpc, input, operator.userId]],
        `${method} ${path}`,
      );
    }
  });

  it('pages the admin car list by cursor: limit, cursor and filters go through, the next cursor comes back', async () => {
    car.answer = () => ({ items: [aCar()], nextCursor: 'next-page-cursor' });
    const answer = await call('GET', '/v1/admin/cars?limit=1&cursor=this-page&state=available&category=compact&lowBatteryBelowPct=30&offline=false&plate=b-sc%200001&sort=plate', {
      token: operator.token,
    });
    assert.equal(answer.status, 200, answer.text);
    assert.equal((answer.body as { nextCursor: string }).nextCursor, 'next-page-cursor');
    // The plate as typed: the car service compares it in the form plates are stored in.
    assert.deepEqual(car.calls[0]?.input, { limit: 1, cursor: 'this-page', state: 'available', category: 'compact', lowBatteryBelowPct: 30, offline: false, plate: 'b-sc 0001', sort: 'plate' });
  });

  it('answers 400, never 5xx, to bad input on every route that takes some, before calling the car service', async () => {
    const bad: Array<[string, string, unknown?]> = [
      ['GET', '/v1/cars/nearby?lat=91&lng=13.4'],
      ['GET', '/v1/cars/nearby?lat=52.5'],
      ['GET', '/v1/cars/nearby?lat=52.5&lng=13.4&radiusM=0'],
      ['GET', '/v1/cars/nearby?lat=52.5&lng=13.4&limit=101'],
      ['GET', '/v1/cars/nearby?lat=52.5&lng=13.4&category=spaceship'],
      ['GET', '/v1/cars/nearby?lat=abc&lng=13.4'],
      ['GET', '/v1/cars/not-a-uuid'],
      ['GET', '/v1/admin/cars?limit=0'],
      ['GET', '/v1/admin/cars?limit=101'],
      ['GET', `/v1/admin/cars?cursor=${'x'.repeat(513)}`],
      ['GET', '/v1/admin/cars?state=flying'],
      ['GET', '/v1/admin/cars?unknown=1'],
      ['GET', '/v1/admin/cars?plate='],
      ['GET', `/v1/admin/cars?plate=${'B'.repeat(33)}`],
      ['GET', '/v1/admin/cars/not-a-uuid'],
      ['POST', '/v1/admin/cars', { plate: 'B-FH 3' }],
      ['POST', '/v1/admin/cars', '{"plate":'],
      ['PATCH', `/v1/admin/cars/${carId}`, { expectedVersion: 3, vin: 'changing the VIN is not an edit' }],
      ['PUT', `/v1/admin/cars/${carId}/maintenance`, { on: 'yes' }],
      ['PUT', '/v1/admin/cars/not-a-uuid/maintenance', { on: true }],
      ['DELETE', '/v1/admin/cars/not-a-uuid'],
    ];
    for (const [method, path, body] of bad) {
      const token = path.startsWith('/v1/admin') ? operator.token : rider.token;
      assertRefused(await call(method, path, { body, token }), 400);
      car.calls = [];
    }
  });

  it("passes the car service's refusals on as 4xx JSON (a stale cursor, an unknown car)", async () => {
    car.answer = () => {
      throw InvalidArgument('INVALID_CURSOR', 'the cursor is not one this list gave out');
    };
    const stale = await call('GET', '/v1/admin/cars?cursor=forged', { token: operator.token });
    assert.equal(stale.status, 400, stale.text);
    assert.equal((stale.body as ErrorBody).error.code, 'INVALID_CURSOR');
    car.answer = () => {
      throw NotFound('CAR_NOT_FOUND', 'no such car');
    };
    const missing = await call('GET', `/v1/cars/${carId}`, { token: rider.token });
    assert.equal(missing.status, 404, missing.text);
    assert.equal((missing.body as ErrorBody).error.code, 'CAR_NOT_FOUND');
  });

  it('gives riders nearby cars as the car service ranks them, with the query as numbers', async () => {
    const nearby = { items: [{ id: carId, plate: 'B-FH 1', model: 'VW ID.3', category: 'compact', seats: 5, fuelType: 'electric', position: { lat: 52.52, lng: 13.405 }, energyPct: 80, distanceM: 120 }] };
    car.answer = () => nearby;
    const answer = await call('GET', '/v1/cars/nearby?lat=52.52&lng=13.4&radiusM=1500&category=compact&limit=5', { token: rider.token });
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.body, nearby);
    assert.deepEqual(car.calls[0]?.input, { lat: 52.52, lng: 13.4, radiusM: 1500, category: 'compact', limit: 5 });
  });

  it('shows riders a car without its internal fields, and where a taken car stands only to staff', async () => {
    car.answer = () => aCar();
    const available = await call('GET', `/v1/cars/${carId}`, { token: rider.token });
    assert.equal(available.status, 200, available.text);
    assert.deepEqual(Object.keys(available.body as object).sort(), ['available', 'category', 'energyPct', 'fuelType', 'id', 'model', 'plate', 'position', 'seats']);
    car.answer = () => aCar({ state: 'in_use', reservationId: '0190f000-0000-7000-8000-0000000000d1' });
    assert.equal((((await call('GET', `/v1/cars/${carId}`, { token: rider.token })).body) as { position: unknown }).position, null);
    assert.deepEqual((((await call('GET', `/v1/cars/${carId}`, { token: operator.token })).body) as { position: unknown }).position, { lat: 52.52, lng: 13.405 });
  });

  it("takes a device report only with the device's credential, and passes it on as sent", async () => {
    const report = { v: 1, ts: 1, lat: 52.5, lng: 13.4, speedKph: 0, headingDeg: 0, odometerKm: 1, energyPct: 50, locked: true };
    assertRefused(await call('POST', '/v1/devices/telemetry', { body: report }), 401, 'DEVICE_UNAUTHENTICATED');
    assertRefused(await call('POST', '/v1/devices/telemetry', { body: report, token: rider.token }), 401, 'DEVICE_UNAUTHENTICATED');
    assertRefused(await call('POST', '/v1/devices/telemetry', { body: report, headers: { authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` } }), 401, 'DEVICE_UNAUTHENTICATED');
    assertRefused(await call('POST', '/v1/devices/telemetry', { body: { padding: 'x'.repeat(20_000) }, headers: { authorization: `Basic ${Buffer.from(`${carId}:s`).toString('base64')}` } }), 413);
    car.answer = () => ({ accepted: true });
    const accepted = await call('POST', '/v1/devices/telemetry', { body: report, headers: { authorization: `Basic ${Buffer.from(`${carId}:device-secret`).toString('base64')}` } });
    assert.equal(accepted.status, 202, accepted.text);
    assert.deepEqual(car.calls.map((entry) => [entry.method, entry.input]), [['IngestTelemetry', { carId, secret: 'device-secret', report }]]);
  });

  it("takes a Traccar forward only with the Traccar server's bearer token", async () => {
    const forwarded = { position: { latitude: 52.5, longitude: 13.4 }, device: { uniqueId: '868618052108909' } };
    assertRefused(await call('POST', '/v1/devices/traccar', { body: forwarded }), 401, 'DEVICE_UNAUTHENTICATED');
    car.answer = () => ({ accepted: true });
    const accepted = await call('POST', '/v1/devices/traccar', { body: forwarded, token: 'traccar-token-1234' });
    assert.equal(accepted.status, 202, accepted.text);
    assert.deepEqual(car.calls.map((entry) => [entry.method, entry.input]), [['IngestTraccarPosition', { token: 'traccar-token-1234', forwarded }]]);
  });

  it('serves GBFS without an account: the configured system, and every available car page by page', async () => {
    const information = await call('GET', '/gbfs/system_information.json');
    assert.equal(information.status, 200, information.text);
    assert.match(information.headers.get('cache-control') ?? '', /^public, max-age=\d+$/);
    const data = (information.body as { data: Record<string, unknown> }).data;
    assert.deepEqual([data['system_id'], data['timezone'], data['operator']], ['stadtauto', 'Europe/Vienna', [{ text: 'Stadtauto GmbH', language: 'de' }]]);
    const available = (id: string) => ({ id, category: 'compact', seats: 5, fuelType: 'electric', position: { lat: 52.52, lng: 13.4 }, energyPct: 80, lastSeenAt: null, version: 1 });
    car.answer = (_method, input) =>
      input['cursor'] === undefined
        ? { items: [available('0190f000-0000-7000-8000-0000000000e1')], nextCursor: 'page-2' }
        : { items: [available('0190f000-0000-7000-8000-0000000000e2')], nextCursor: null };
    const status = await call('GET', '/gbfs/vehicle_status.json');
    assert.equal(status.status, 200, status.text);
    assert.equal((status.body as { data: { vehicles: unknown[] } }).data.vehicles.length, 2);
    assert.deepEqual(car.calls.map((entry) => [entry.method, entry.input['cursor'], entry.caller]), [['AvailableCars', undefined, undefined], ['AvailableCars', 'page-2', undefined]]);
  });
});
