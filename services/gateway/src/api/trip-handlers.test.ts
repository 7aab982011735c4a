import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { carRpc, tripRpc } from '@carshare/contracts';
import { createObservability } from '@carshare/observability';
import { Conflict, DeadlineExceeded, createHttpServer, systemClock, type Caller, type HttpServer, type RpcClient, type VerifiedCaller } from '@carshare/platform';
import { registerGbfsRoutes } from './gbfs-handlers.ts';
import { registerTripRoutes } from './trip-handlers.ts';
import { routeDepsFor } from '../testing/route-deps.ts';

// The trip routes through the gateway's real route stack (token, access, Idempotency-Key,
// schemas, error shape) onto a recording stand-in of the trip service's RPC client.

const observability = createObservability({ service: 'gateway', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });
const rider: VerifiedCaller = { userId: '0190f000-0000-7000-8000-000000000001', role: 'rider', plan: 'free', token: 'rider-token', issuedAtMs: Date.UTC(2026, 0, 1) };
const operator: VerifiedCaller = { userId: '0190f000-0000-7000-8000-000000000002', role: 'operator', plan: 'free', token: 'operator-token', issuedAtMs: Date.UTC(2026, 0, 1) };
const tripId = '0190f000-0000-7000-8000-0000000000a1';
const otherTripId = '0190f000-0000-7000-8000-0000000000a2';

function tripWire(status: string) {
  return {
    id: tripId,
    riderId: rider.userId,
    carId: '0190f000-0000-7000-8000-0000000000c1',
    reservationId: null,
    status,
    category: 'compact',
    depositCents: 5000,
    paymentId: '0190f000-0000-7000-8000-0000000000b1',
    failureReason: null,
    startedAt: '2026-12-04T10:00:00.000Z',
    createdAt: '2026-12-04T10:00:00.000Z',
    pausedSince: null,
    pausedMs: 0,
    finishedAt: status === 'finished' ? '2026-12-04T10:10:00.000Z' : null,
    paymentStatus: status === 'finished' ? 'captured' : null,
    totalCents: status === 'finished' ? 449 : null,
    currency: status === 'finished' ? 'EUR' : null,
    distanceM: status === 'finished' ? 1234.5 : null,
    endZoneId: status === 'finished' ? 'home-city' : null,
  };
}

class FakeTripClient {
  calls: { method: string; input: Record<string, unknown>; caller: Caller | undefined }[] = [];
  answer: (method: string, input: Record<string, unknown>) => unknown = () => ({});

  client(): RpcClient<typeof tripRpc.methods> {
    return new Proxy({} as RpcClient<typeof tripRpc.methods>, {
      get: (_target, method: string) => async (input: Record<string, unknown>, ctx: { caller: Caller | undefined }) => {
        this.calls.push({ method, input, caller: ctx.caller });
        return this.answer(method, input);
      },
    });
  }

  count(method: string): number {
    return this.calls.filter((call) => call.method === method).length;
  }
}

describe('gateway trip routes', () => {
  const trip = new FakeTripClient();
  let gateway: HttpServer;
  let base: string;

  before(async () => {
    gateway = createHttpServer({ observability, errorStyle: 'public', clock: systemClock, trustDeadlineHeader: false });
    registerTripRoutes(
      gateway,
      routeDepsFor([rider, operator]),
      trip.client(),
    );
    // The car service's GBFS feeds beside them: gbfs.json lists the zones feed when trip serves it.
    registerGbfsRoutes(gateway, new Proxy({} as RpcClient<typeof carRpc.methods>, { get: () => async () => ({ items: [], nextCursor: null }) }));
    await gateway.listen({ host: '127.0.0.1', port: 0 });
    const address = gateway.server.address();
    assert.ok(address && typeof address === 'object');
    base = `http://127.0.0.1:${address.port}`;
  });
  after(() => gateway.close());
  beforeEach(() => {
    trip.calls = [];
    trip.answer = () => ({});
  });

  const finish = (id: string, key: string | undefined, token = rider.token) =>
    fetch(`${base}/v1/trips/${id}/finish`, { method: 'POST', headers: { authorization: `Bearer ${token}`, ...(key !== undefined && { 'idempotency-key': key }) } });

  describe('POST /v1/trips/:id/finish', () => {
    it('needs an Idempotency-Key: 400 without one, the trip service never asked', async () => {
      const response = await finish(tripId, undefined);
      assert.equal(response.status, 400);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'IDEMPOTENCY_KEY_REQUIRED');
      assert.equal(trip.count('FinishTrip'), 0);
    });

    it('finishes the trip as its rider and answers it', async () => {
      trip.answer = () => tripWire('finished');
      const response = await finish(tripId, 'finish-1');
      assert.equal(response.status, 200);
      const body = (await response.json()) as { status: string; totalCents: number };
      assert.equal(body.status, 'finished');
      assert.equal(body.totalCents, 449);
      assert.deepEqual(trip.calls.map((call) => [call.method, call.input, call.caller?.userId]), [['FinishTrip', { tripId }, rider.userId]]);
    });

    it('the same key again answers the first finish without asking twice; at once, one goes through and the other is told to retry', async () => {
      trip.answer = () => tripWire('finished');
      const first = await finish(tripId, 'finish-seq');
      const second = await finish(tripId, 'finish-seq');
      assert.equal(first.status, 200);
      assert.equal(second.status, 200);
      assert.equal(second.headers.get('idempotency-replayed'), 'true');
      assert.deepEqual(await second.json(), await first.json());
      assert.equal(trip.count('FinishTrip'), 1);

      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      trip.answer = async () => {
        await gate;
        return tripWire('finished');
      };
      const a = finish(tripId, 'finish-concurrent');
      // The first request must hold the key before the second arrives.
      while (trip.count('FinishTrip') < 2) await new Promise((resolve) => setImmediate(resolve));
      const b = await finish(tripId, 'finish-concurrent');
      release();
      assert.equal((await a).status, 200);
      assert.equal(b.status, 409);
      assert.equal(((await b.json()) as { error: { code: string } }).error.code, 'IDEMPOTENCY_KEY_IN_USE');
      assert.equal(trip.count('FinishTrip'), 2, 'one call per key');
    });

    it('the same key for another trip: 422', async () => {
      trip.answer = () => tripWire('finished');
      assert.equal((await finish(tripId, 'finish-reused')).status, 200);
      const reused = await finish(otherTripId, 'finish-reused');
      assert.equal(reused.status, 422);
      assert.equal(((await reused.json()) as { error: { code: string } }).error.code, 'IDEMPOTENCY_KEY_REUSED');
      assert.equal(trip.count('FinishTrip'), 1);
    });

    it('outside the zones: 409 with the nearest zone in details', async () => {
      trip.answer = () => {
        throw Conflict('OUTSIDE_OPERATING_AREA', 'the car is outside the operating area', { tripId, nearestZone: { zoneId: 'home-city', distanceM: 800 } });
      };
      const response = await finish(tripId, 'finish-outside');
      assert.equal(response.status, 409);
      const body = (await response.json()) as { error: { code: string; details: { nearestZone: { zoneId: string; distanceM: number } } } };
      assert.equal(body.error.code, 'OUTSIDE_OPERATING_AREA');
      assert.deepEqual(body.error.details.nearestZone, { zoneId: 'home-city', distanceM: 800 });
    });

    it('a device that never acks: 504 with its code, and the key is free for the retry', async () => {
      trip.answer = () => {
        throw DeadlineExceeded('DEVICE_DID_NOT_ANSWER', 'the car did not confirm the lock');
      };
      const response = await finish(tripId, 'finish-retry');
      assert.equal(response.status, 504);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'DEVICE_DID_NOT_ANSWER');
      trip.answer = () => tripWire('finished');
      const retry = await finish(tripId, 'finish-retry');
      assert.equal(retry.status, 200);
      assert.equal(trip.count('FinishTrip'), 2);
    });
  });

  describe('POST /v1/reservations/:id/extend', () => {
    const reservationId = '0190f000-0000-7000-8000-0000000000d1';
    const extend = (key?: string) =>
      fetch(`${base}/v1/reservations/${reservationId}/extend`, { method: 'POST', headers: { authorization: `Bearer ${rider.token}`, ...(key !== undefined && { 'idempotency-key': key }) } });
    const extended = {
      id: reservationId,
      riderId: rider.userId,
      carId: '0190f000-0000-7000-8000-0000000000c1',
      status: 'active',
      createdAt: '2026-12-04T10:00:00.000Z',
      expiresAt: '2026-12-04T10:25:00.000Z',
      endedAt: null,
      extension: { extendedAt: '2026-12-04T10:14:00.000Z', minutes: 10, feeCents: 100, currency: 'EUR' },
    };

    it('extends my reservation; the same Idempotency-Key again replays the answer without a second purchase', async () => {
      trip.answer = () => extended;
      const first = await extend('extend-1');
      assert.equal(first.status, 200);
      assert.deepEqual(await first.json(), extended);
      const again = await extend('extend-1');
      assert.equal(again.status, 200);
      assert.equal(again.headers.get('idempotency-replayed'), 'true');
      assert.deepEqual(trip.calls.map((call) => [call.method, call.input, call.caller?.userId]), [['ExtendReservation', { reservationId }, rider.userId]]);
    });

    it('a second extension: 409 with the reservation state in details', async () => {
      const details = { reservationId, current: 'active', expiresAt: extended.expiresAt, extendedAt: extended.extension.extendedAt };
      trip.answer = () => {
        throw Conflict('RESERVATION_ALREADY_EXTENDED', 'a reservation can be extended once', details);
      };
      const response = await extend();
      assert.equal(response.status, 409);
      const body = (await response.json()) as { error: { code: string; details: unknown } };
      assert.equal(body.error.code, 'RESERVATION_ALREADY_EXTENDED');
      assert.deepEqual(body.error.details, details);
    });
  });

  it('GET /v1/trips pages my trips with limit and cursor', async () => {
    trip.answer = () => ({ items: [tripWire('finished')], nextCursor: 'next' });
    const response = await fetch(`${base}/v1/trips?limit=1&cursor=abc`, { headers: { authorization: `Bearer ${rider.token}` } });
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { nextCursor: string }).nextCursor, 'next');
    assert.deepEqual(trip.calls.map((call) => [call.method, call.input]), [['ListMyTrips', { limit: 1, cursor: 'abc' }]]);
    const bad = await fetch(`${base}/v1/trips?limit=1000`, { headers: { authorization: `Bearer ${rider.token}` } });
    assert.equal(bad.status, 400);
  });

  it('GET /v1/trips/:id answers the trip with its live fee', async () => {
    const liveFee = { drivingMinutes: 3, parkingMinutes: 0, distanceM: 812.4, estimateCents: 204, extensionFeeCents: 0, currency: 'EUR', packageApplied: null, asOf: '2026-12-04T10:03:00.000Z' };
    trip.answer = () => ({ ...tripWire('in_progress'), liveFee });
    const response = await fetch(`${base}/v1/trips/${tripId}`, { headers: { authorization: `Bearer ${rider.token}` } });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { status: string; liveFee: typeof liveFee };
    assert.equal(body.status, 'in_progress');
    assert.deepEqual(body.liveFee, liveFee);
  });

  it('POST /v1/trips/:id/pause and /resume call the trip service for the rider', async () => {
    trip.answer = (method) => tripWire(method === 'PauseTrip' ? 'paused' : 'in_progress');
    const paused = await fetch(`${base}/v1/trips/${tripId}/pause`, { method: 'POST', headers: { authorization: `Bearer ${rider.token}` } });
    assert.equal(paused.status, 200);
    assert.equal(((await paused.json()) as { status: string }).status, 'paused');
    const resumed = await fetch(`${base}/v1/trips/${tripId}/resume`, { method: 'POST', headers: { authorization: `Bearer ${rider.token}` } });
    assert.equal(resumed.status, 200);
    assert.deepEqual(trip.calls.map((call) => [call.method, call.input]), [['PauseTrip', { tripId }], ['ResumeTrip', { tripId }]]);
  });

  it('GET /v1/trips/:id/receipt: before the finish 409 TRIP_NOT_FINISHED', async () => {
    trip.answer = () => {
      throw Conflict('TRIP_NOT_FINISHED', 'a receipt exists once the trip is finished', { tripId, current: 'in_progress' });
    };
    const early = await fetch(`${base}/v1/trips/${tripId}/receipt`, { headers: { authorization: `Bearer ${rider.token}` } });
    assert.equal(early.status, 409);
    assert.equal(((await early.json()) as { error: { code: string } }).error.code, 'TRIP_NOT_FINISHED');
  });

  it('GET /v1/trips/:id/receipt.pdf sends the bytes as application/pdf; an error stays JSON', async () => {
    const bytes = Buffer.from('%PDF-1.3 fake receipt EUR 12.34');
    trip.answer = () => ({ contentBase64: bytes.toString('base64'), fileName: 'receipt.pdf' });
    const response = await fetch(`${base}/v1/trips/${tripId}/receipt.pdf`, { headers: { authorization: `Bearer ${rider.token}` } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/pdf');
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), bytes);
    assert.deepEqual(trip.calls.map((call) => [call.method, call.input]), [['GetReceiptPdf', { tripId }]]);
    trip.answer = () => {
      throw Conflict('TRIP_NOT_FINISHED', 'a receipt exists once the trip is finished');
    };
    const early = await fetch(`${base}/v1/trips/${tripId}/receipt.pdf`, { headers: { authorization: `Bearer ${rider.token}` } });
    assert.equal(early.status, 409);
    assert.match(early.headers.get('content-type') ?? '', /application\/json/);
    const anonymous = await fetch(`${base}/v1/trips/${tripId}/receipt.pdf`);
    assert.equal(anonymous.status, 401);
  });

  it('GET /v1/zones is public GeoJSON', async () => {
    const zones = { type: 'FeatureCollection', version: 'v1', features: [{ type: 'Feature', id: 'home-city', properties: { name: 'City', kind: 'home' }, geometry: { type: 'Polygon', coordinates: [[[13, 52], [13.1, 52], [13.1, 52.1], [13, 52]]] } }] };
    trip.answer = () => zones;
    const response = await fetch(`${base}/v1/zones`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), zones);
    assert.equal(trip.calls[0]?.caller, undefined);
  });

  it('GBFS: geofencing_zones.json from the zones (no-parking first, MultiPolygons, end allowed only inside) and listed in gbfs.json', async () => {
    const square = [[[13, 52], [13.1, 52], [13.1, 52.1], [13, 52]]];
    trip.answer = () => ({
      type: 'FeatureCollection',
      version: 'v1',
      features: [
        { type: 'Feature', id: 'home-city', properties: { name: 'City', kind: 'home' }, geometry: { type: 'Polygon', coordinates: square } },
        { type: 'Feature', id: 'park', properties: { name: 'Park', kind: 'no_parking' }, geometry: { type: 'Polygon', coordinates: square } },
      ],
    });
    const response = await fetch(`${base}/gbfs/geofencing_zones.json`);
    assert.equal(response.status, 200);
    const feed = (await response.json()) as {
      version: string;
      data: { geofencing_zones: { features: { geometry: { type: string; coordinates: unknown }; properties: { name: { text: string }[]; rules: { ride_end_allowed: boolean }[] } }[] }; global_rules: { ride_end_allowed: boolean }[] };
    };
    const features = feed.data.geofencing_zones.features;
    assert.deepEqual(features.map((feature) => [feature.properties.name[0]?.text, feature.properties.rules[0]?.ride_end_allowed, feature.geometry.type]), [
      ['Park', false, 'MultiPolygon'],
      ['City', true, 'MultiPolygon'],
    ]);
    assert.deepEqual(features[1]?.geometry.coordinates, [square]);
    assert.equal(feed.data.global_rules[0]?.ride_end_allowed, false);
    const discovery = (await (await fetch(`${base}/gbfs/gbfs.json`)).json()) as { data: { feeds: { name: string }[] } };
    assert.ok(discovery.data.feeds.some((entry) => entry.name === 'geofencing_zones'));
  });

  it('GET /v1/admin/trips filters for operators, refuses riders with 403 before the trip service', async () => {
    const refused = await fetch(`${base}/v1/admin/trips`, { headers: { authorization: `Bearer ${rider.token}` } });
    assert.equal(refused.status, 403);
    assert.equal(trip.calls.length, 0);
    trip.answer = () => ({ items: [], nextCursor: null });
    const query = `status=finished&riderId=${rider.userId}&from=2026-12-01T00:00:00.000Z&to=2026-12-05T00:00:00.000Z&limit=5`;
    const response = await fetch(`${base}/v1/admin/trips?${query}`, { headers: { authorization: `Bearer ${operator.token}` } });
    assert.equal(response.status, 200);
    assert.deepEqual(trip.calls.map((call) => [call.method, call.input]), [
      ['ListTrips', { status: 'finished', riderId: rider.userId, from: '2026-12-01T00:00:00.000Z', to: '2026-12-05T00:00:00.000Z', limit: 5 }],
    ]);
    const badState = await fetch(`${base}/v1/admin/trips?status=flying`, { headers: { authorization: `Bearer ${operator.token}` } });
    assert.equal(badState.status, 400);
  });

  it('GET /v1/admin/trips/:id/timeline answers the events and sagas for operators', async () => {
    const timeline = { trip: tripWire('finished'), events: [{ seq: 1, type: 'trip.requested', at: '2026-12-04T10:00:00.000Z', data: {} }], sagas: [] };
    trip.answer = () => timeline;
    const response = await fetch(`${base}/v1/admin/trips/${tripId}/timeline`, { headers: { authorization: `Bearer ${operator.token}` } });
    assert.equal(response.status, 200);
    assert.deepEqual(((await response.json()) as typeof timeline).events, timeline.events);
    const refused = await fetch(`${base}/v1/admin/trips/${tripId}/timeline`, { headers: { authorization: `Bearer ${rider.token}` } });
    assert.equal(refused.status, 403);
  });
});
