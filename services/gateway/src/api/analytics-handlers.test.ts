import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { StatsPage, analyticsRpc } from '@carshare/contracts';
import { createObservability } from '@carshare/observability';
import { InvalidArgument, createHttpServer, systemClock, type Caller, type HttpServer, type RpcClient, type VerifiedCaller } from '@carshare/platform';
import { registerAnalyticsRoutes, statsCsv } from './analytics-handlers.ts';
import { routeDepsFor } from '../testing/route-deps.ts';

const observability = createObservability({ service: 'gateway', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });
const operator: VerifiedCaller = { userId: '0190f000-0000-7000-8000-000000000002', role: 'operator', plan: 'unlimited', token: 'operator-token', issuedAtMs: Date.UTC(2026, 0, 1) };
const rider: VerifiedCaller = { ...operator, userId: '0190f000-0000-7000-8000-000000000001', role: 'rider', plan: 'free', token: 'rider-token' };

const page: StatsPage = {
  metric: 'failed_trip_starts',
  bucket: 'hour',
  by: 'reason',
  unit: 'count',
  from: '2026-03-02T00:00:00.000Z',
  to: '2026-03-03T00:00:00.000Z',
  points: [
    { start: '2026-03-02T10:00:00.000Z', key: 'CAR_DID_NOT_UNLOCK', count: 2, sum: 0, level: null },
    { start: '2026-03-02T11:00:00.000Z', key: '=HYPERLINK("x"), "quoted"', count: 1, sum: -3, level: null },
  ],
  nextCursor: 'WyJuZXh0Il0',
};

/** The analytics service as the gateway's client sees it: records each call, answers what a test sets. */
class FakeAnalyticsClient {
  calls: { method: string; input: Record<string, unknown>; caller: Caller | undefined }[] = [];
  answer: (input: Record<string, unknown>) => unknown = () => page;

  client(): RpcClient<typeof analyticsRpc.methods> {
    return new Proxy({} as RpcClient<typeof analyticsRpc.methods>, {
      get: (_target, method: string) => async (input: Record<string, unknown>, ctx: { caller: Caller | undefined }) => {
        this.calls.push({ method, input, caller: ctx.caller });
        return this.answer(input);
      },
    });
  }
}

describe('GET /v1/admin/stats', () => {
  const analytics = new FakeAnalyticsClient();
  let gateway: HttpServer;
  const query = 'metric=failed_trip_starts&bucket=hour&from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z&by=reason';
  const get = (url: string, headers: Record<string, string> = {}, token: string | null = operator.token) =>
    gateway.inject({ method: 'GET', url, headers: { ...(token !== null && { authorization: `Bearer ${token}` }), ...headers } });

  before(async () => {
    gateway = createHttpServer({ observability, errorStyle: 'public', clock: systemClock, trustDeadlineHeader: false });
    registerAnalyticsRoutes(
      gateway,
      routeDepsFor([operator, rider]),
      analytics.client(),
    );
    await gateway.ready();
  });
  after(() => gateway.close());
  beforeEach(() => {
    analytics.calls = [];
    analytics.answer = () => page;
  });

  it('asks QueryStats once with the validated query (limit defaulted, no format) for the operator', async () => {
    const response = await get(`/v1/admin/stats?${query}`);
    assert.equal(response.statusCode, 200, response.body);
    assert.match(response.headers['content-type'] as string, /^application\/json/);
    assert.deepEqual(response.json(), page);
    assert.deepEqual(analytics.calls, [
      {
        method: 'QueryStats',
        input: { metric: 'failed_trip_starts', bucket: 'hour', from: '2026-03-02T00:00:00Z', to: '2026-03-03T00:00:00Z', by: 'reason', limit: 200 },
        caller: operator,
      },
    ]);
  });

  it('answers CSV for Accept: text/csv and for format=csv, with the next page in a Link header', async () => {
    for (const response of [await get(`/v1/admin/stats?${query}`, { accept: 'text/csv' }), await get(`/v1/admin/stats?${query}&format=csv`)]) {
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.headers['content-type'], 'text/csv; charset=utf-8');
      assert.match(response.headers['content-disposition'] as string, /attachment; filename="carshare-failed_trip_starts-hour.csv"/);
      assert.equal(
        response.body,
        'start,key,count,sum,level\r\n' +
          '2026-03-02T10:00:00.000Z,CAR_DID_NOT_UNLOCK,2,0,\r\n' +
          `2026-03-02T11:00:00.000Z,"'=HYPERLINK(""x""), ""quoted""",1,-3,\r\n`,
      );
      const link = response.headers.link as string;
      assert.match(link, /^<\/v1\/admin\/stats\?[^>]*cursor=WyJuZXh0Il0[^>]*>; rel="next"$/);
      assert.match(link, /metric=failed_trip_starts/);
    }
    assert.equal(statsCsv({ ...page, points: [] }), 'start,key,count,sum,level\r\n');
  });

  it('keeps JSON when format=json overrides Accept, and has no Link when there is no next page', async () => {
    const json = await get(`/v1/admin/stats?${query}&format=json`, { accept: 'text/csv' });
    assert.match(json.headers['content-type'] as string, /^application\/json/);
    analytics.answer = () => ({ ...page, nextCursor: null });
    const last = await get(`/v1/admin/stats?${query}&format=csv`);
    assert.equal(last.headers.link, undefined);
  });

  it('refuses riders and anonymous callers before asking analytics', async () => {
    const asRider = await get(`/v1/admin/stats?${query}`, {}, rider.token);
    assert.equal(asRider.statusCode, 403);
    assert.equal((asRider.json() as { error: { code: string } }).error.code, 'OPERATOR_ONLY');
    const anonymous = await get(`/v1/admin/stats?${query}&format=csv`, {}, null);
    assert.equal(anonymous.statusCode, 401);
    assert.match(anonymous.headers['content-type'] as string, /^application\/json/);
    assert.deepEqual(analytics.calls, []);
  });

  it('answers 400 JSON for an unknown metric or bucket, a bad time, a limit out of range, an unknown parameter', async () => {
    for (const bad of [
      query.replace('failed_trip_starts', 'profit'),
      query.replace('bucket=hour', 'bucket=minute'),
      query.replace('from=2026-03-02T00:00:00Z', 'from=yesterday'),
      `${query}&limit=5000`,
      `${query}&format=xml`,
      `${query}&metrics=all`,
    ]) {
      const response = await get(`/v1/admin/stats?${bad}`, { accept: 'text/csv' });
      assert.equal(response.statusCode, 400, bad);
      assert.match(response.headers['content-type'] as string, /^application\/json/, bad);
    }
    assert.deepEqual(analytics.calls, []);
  });

  it("passes the analytics service's 400 on (a range too long) as JSON, also when CSV was asked for", async () => {
    analytics.answer = () => {
      throw InvalidArgument('INVALID_RANGE', 'a query by hour covers at most 744 hours');
    };
    const response = await get(`/v1/admin/stats?${query}&format=csv`);
    assert.equal(response.statusCode, 400);
    assert.equal((response.json() as { error: { code: string } }).error.code, 'INVALID_RANGE');
  });
});
