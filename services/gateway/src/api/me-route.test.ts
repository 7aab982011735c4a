import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { RpcMethods, tripRpc, userRpc } from '@carshare/contracts';
import { createObservability } from '@carshare/observability';
import { Unavailable, createHttpServer, systemClock, type HttpServer, type RpcClient, type VerifiedCaller } from '@carshare/platform';
import { FaultRegistry } from '@carshare/resilience';
import { createGatewayService } from '../gateway-service.ts';
import { LastGoodCache } from './last-good-cache.ts';
import { registerPublicRoutes } from './public-handlers.ts';
import { routeDepsFor } from '../testing/route-deps.ts';

// GET /v1/me through the gateway's real route stack and its gathering of parts, onto stand-ins
// of the user and trip services' RPC clients: one call to each, made at once.

const observability = createObservability({ service: 'gateway', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });
const rider: VerifiedCaller = { userId: '0190f000-0000-7000-8000-000000000001', role: 'rider', plan: 'free', token: 'rider-token', issuedAtMs: Date.UTC(2026, 0, 1) };

const userWire = {
  id: rider.userId,
  email: 'ada@example.com',
  displayName: 'Ada',
  role: 'rider' as const,
  plan: 'free' as const,
  status: 'active' as const,
  createdAt: '2026-12-01T10:00:00.000Z',
  emailVerified: true,
};
const reservationWire = {
  id: '0190f000-0000-7000-8000-0000000000d1',
  riderId: rider.userId,
  carId: '0190f000-0000-7000-8000-0000000000c1',
  status: 'active' as const,
  createdAt: '2026-12-04T10:00:00.000Z',
  expiresAt: '2026-12-04T10:25:00.000Z',
  endedAt: null,
  extension: { extendedAt: '2026-12-04T10:10:00.000Z', minutes: 10, feeCents: 100, currency: 'EUR' },
};
const tripWire = {
  id: '0190f000-0000-7000-8000-0000000000a1',
  riderId: rider.userId,
  carId: '0190f000-0000-7000-8000-0000000000c2',
  reservationId: null,
  status: 'in_progress' as const,
  category: 'compact',
  depositCents: 5000,
  paymentId: '0190f000-0000-7000-8000-0000000000b1',
  failureReason: null,
  startedAt: '2026-12-04T10:00:00.000Z',
  createdAt: '2026-12-04T10:00:00.000Z',
  pausedSince: null,
  pausedMs: 0,
  finishedAt: null,
  paymentStatus: null,
  totalCents: null,
  currency: null,
  distanceM: null,
  endZoneId: null,
};

/** A stand-in RPC client: every method records its call and answers through `answer`. */
class Recording<Methods extends RpcMethods> {
  calls: string[] = [];
  answer: (method: string) => Promise<unknown> = async () => ({});
  client(): RpcClient<Methods> {
    return new Proxy({} as RpcClient<Methods>, {
      get: (_target, method: string) => async () => {
        this.calls.push(method);
        return this.answer(method);
      },
    });
  }
}

async function serve(trip: RpcClient<typeof tripRpc.methods> | undefined, user: RpcClient<typeof userRpc.methods>): Promise<{ app: HttpServer; base: string }> {
  const app = createHttpServer({ observability, errorStyle: 'public', clock: systemClock, trustDeadlineHeader: false });
  const gateway = createGatewayService({
    user,
    trip,
    deadLetters: new Map(),
    faults: new FaultRegistry(),
    lastGoodUsers: new LastGoodCache({ maxEntries: 10, maxAgeMs: 60_000, now: () => systemClock.now() }),
    partBudgetMs: 1_000,
    clock: systemClock,
  });
  registerPublicRoutes(
    app,
    routeDepsFor([rider]),
    user,
    gateway,
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  assert.ok(address && typeof address === 'object');
  return { app, base: `http://127.0.0.1:${address.port}` };
}

const me = async (base: string) => {
  const response = await fetch(`${base}/v1/me`, { headers: { authorization: `Bearer ${rider.token}` } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe('GET /v1/me', () => {
  const user = new Recording<typeof userRpc.methods>();
  const trip = new Recording<typeof tripRpc.methods>();
  let served: { app: HttpServer; base: string };

  before(async () => {
    served = await serve(trip.client(), user.client());
  });
  after(() => served.app.close());
  beforeEach(() => {
    user.calls = [];
    trip.calls = [];
    user.answer = async () => userWire;
    trip.answer = async () => ({ reservation: reservationWire, trip: tripWire });
  });

  it('shows my account, my active reservation and my live trip, from one call to each service, made at once', async () => {
    // Neither answers before both were asked: a trip part fetched after the user (in series) would hang here.
    let asked = 0;
    let bothAsked: () => void = () => {};
    const gate = new Promise<void>((resolve) => (bothAsked = resolve));
    const waitForBoth = async <T>(value: T): Promise<T> => {
      asked += 1;
      if (asked === 2) bothAsked();
      await gate;
      return value;
    };
    user.answer = () => waitForBoth(userWire);
    trip.answer = () => waitForBoth({ reservation: reservationWire, trip: tripWire });
    const { status, body } = await me(served.base);
    assert.equal(status, 200);
    assert.deepEqual(body, { user: userWire, reservation: reservationWire, trip: tripWire, partial: [], stale: [] });
    assert.deepEqual(user.calls, ['GetUser']);
    assert.deepEqual(trip.calls, ['GetMyActivity']);
  });

  it('nulls when I hold nothing and drive nothing, nothing marked missing', async () => {
    trip.answer = async () => ({ reservation: null, trip: null });
    const { status, body } = await me(served.base);
    assert.equal(status, 200);
    assert.deepEqual(body, { user: userWire, reservation: null, trip: null, partial: [], stale: [] });
  });

  it('the trip service down: still 200 with my account, the reservation and the trip marked missing', async () => {
    trip.answer = async () => {
      throw Unavailable('SERVICE_UNAVAILABLE', 'trip is down');
    };
    const { status, body } = await me(served.base);
    assert.equal(status, 200);
    assert.deepEqual(body, { user: userWire, reservation: null, trip: null, partial: ['reservation', 'trip'], stale: [] });
  });

  it('the user service down with nothing remembered: still 200 with the reservation and the trip, the account marked missing', async () => {
    // A user the cache has not seen: the stand-in answers another id's request.
    const stranger = await serve(trip.client(), user.client());
    try {
      user.answer = async () => {
        throw Unavailable('SERVICE_UNAVAILABLE', 'user is down');
      };
      const { status, body } = await me(stranger.base);
      assert.equal(status, 200);
      assert.deepEqual(body, { user: null, reservation: reservationWire, trip: tripWire, partial: ['user'], stale: [] });
    } finally {
      await stranger.app.close();
    }
  });

  it('a composition without the trip service answers the account alone, nothing marked missing', async () => {
    const alone = await serve(undefined, user.client());
    try {
      const { status, body } = await me(alone.base);
      assert.equal(status, 200);
      assert.deepEqual(body, { user: userWire, reservation: null, trip: null, partial: [], stale: [] });
    } finally {
      await alone.app.close();
    }
  });
});
