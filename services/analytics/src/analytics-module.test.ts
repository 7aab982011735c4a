import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { analyticsRpc, type EventEnvelope } from '@carshare/contracts';
import { InProcessEventBus } from '@carshare/messaging';
import { createObservability } from '@carshare/observability';
import { StaticDiscovery, createBackgroundContext, createRpcClient, systemClock, type Caller, type RpcClient } from '@carshare/platform';
import { openSqlEngine, type SqlEngine } from '@carshare/storage';
import { consumerGroups } from './api/event-handlers.ts';
import { loadAnalyticsConfig } from './config.ts';
import { analyticsDescriptor } from './descriptor.ts';
import { createAnalyticsModule, type AnalyticsModule } from './module.ts';
import { scriptedHistory } from './testing/scripted-history.ts';

const operator: Caller = { userId: '01890a5d-ac96-774b-bcce-b302099a8057', role: 'operator', plan: 'unlimited' };
const rider: Caller = { ...operator, role: 'rider', plan: 'free' };
const promtoolMissing = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).error !== undefined;

function observabilityOf(service: string) {
  return createObservability({ service, logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });
}

/** The value of the one sample of `name` that carries `labels` (and any others, e.g. `service`). */
function sampleOf(page: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of page.split('\n')) {
    const match = /^([a-z_:][a-z0-9_:]*)(?:\{(.*)\})? (\S+)$/i.exec(line);
    if (!match || match[1] !== name) continue;
    const found = new Map([...(match[2] ?? '').matchAll(/([a-z_][a-z0-9_]*)="((?:[^"\\]|\\.)*)"/gi)].map((pair) => [pair[1], pair[2]]));
    if (Object.entries(labels).every(([label, value]) => found.get(label) === value)) return Number(match[3]);
  }
  return undefined;
}

async function until(probe: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The module on PGlite and the in-process bus: events in through its consumer groups, figures out over the RPC wire and /metrics. */
describe('analytics module', () => {
  let engine: SqlEngine;
  let bus: InProcessEventBus;
  let module: AnalyticsModule;
  let base: string;
  const clients = {} as Record<'gateway' | 'trip', RpcClient<typeof analyticsRpc.methods>>;
  const history = scriptedHistory();

  before(async () => {
    engine = await openSqlEngine({ dataDir: 'memory://' });
    bus = new InProcessEventBus();
    module = createAnalyticsModule({
      config: loadAnalyticsConfig({ 'log.level': 'silent' }),
      observability: observabilityOf('analytics'),
      database: engine.forService('analytics'),
      bus,
      concurrentRelays: false,
      discovery: new StaticDiscovery({}),
      clock: systemClock,
    });
    await module.start();
    await module.server.listen({ host: '127.0.0.1', port: 0 });
    const address = module.server.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const discovery = new StaticDiscovery({ analytics: [base] });
    for (const service of ['gateway', 'trip'] as const) clients[service] = createRpcClient(analyticsRpc, { discovery, observability: observabilityOf(service) });
    // Every event twice, the second time in reverse: the consumers absorb both.
    await bus.publish(history);
    await bus.publish([...history].reverse());
    await until(async () => (await module.stats.snapshot()).some((row) => row.metric === 'review_duration_ms') && module.writer.waiting === 0, 'the history to be projected');
    await until(async () => {
      const page = await (await fetch(`${base}/metrics`)).text();
      return sampleOf(page, 'carshare_analytics_consumer_lag_seconds_count', { group: 'analytics.trips' }) === history.filter((event) => /^(trip|reservation)\./.test(event.type)).length;
    }, 'every trips event to be counted once');
  });

  after(async () => {
    await Promise.all(Object.values(clients).map((client) => client.close()));
    await module.close();
    await bus.close();
    await engine.close();
  });

  async function call<T>(caller: Caller | undefined, work: (ctx: ReturnType<typeof createBackgroundContext>) => Promise<T>): Promise<T> {
    const ctx = createBackgroundContext(observabilityOf('test'), 'test', { budgetMs: 10_000, ...(caller && { caller }) });
    try {
      return await work(ctx);
    } finally {
      ctx.dispose();
    }
  }

  const query = { metric: 'trips_started', bucket: 'day', from: '2026-03-02T00:00:00.000Z', to: '2026-03-03T00:00:00.000Z', limit: 10 } as const;

  it('reads one consumer group per projection', () => {
    assert.deepEqual([...consumerGroups].sort(), ['analytics.accounts', 'analytics.fleet', 'analytics.revenue', 'analytics.searches', 'analytics.trips', 'analytics.verification']);
  });

  it('answers the figures of events that came through the bus, each counted once', async () => {
    const page = await call(operator, (ctx) => clients.gateway.QueryStats(query, ctx));
    assert.deepEqual(page.points, [{ start: '2026-03-02T00:00:00.000Z', key: null, count: 3, sum: 0, level: null }]);
  });

  it('admits only the gateway, for operators', async () => {
    await assert.rejects(
      call(rider, (ctx) => clients.gateway.QueryStats(query, ctx)),
      (error: { code?: string; reason?: string }) => error.reason === 'OPERATOR_ONLY',
    );
    await assert.rejects(
      call(operator, (ctx) => clients.trip.QueryStats(query, ctx)),
      (error: { code?: string }) => error.code === 'PERMISSION_DENIED',
    );
  });

  it('exposes the business series and the lag on /metrics', async () => {
    const page = await (await fetch(`${base}/metrics`)).text();
    for (const [name, labels, value] of [
      ['carshare_trips_started_total', { category: 'compact' }, 1],
      ['carshare_trips_started_total', { category: 'premium' }, 2],
      ['carshare_trips_finished_total', { category: 'compact' }, 1],
      ['carshare_trips_finished_total', { category: 'premium' }, 1],
      ['carshare_revenue_cents_total', { currency: 'EUR' }, 2050],
      ['carshare_trip_revenue_cents_total', { category: 'premium', zone: 'airport', currency: 'EUR' }, 4200],
      ['carshare_trip_revenue_cents_total', { category: 'compact', zone: 'centre', currency: 'EUR' }, 1250],
      ['carshare_trip_seconds_total', { category: 'premium', zone: 'airport' }, 90 * 60],
      ['carshare_trip_seconds_total', { category: 'compact', zone: 'centre' }, 40 * 60],
      ['carshare_active_trips', { category: 'compact' }, 0],
      ['carshare_active_trips', { category: 'premium' }, 1],
      ['carshare_fleet_cars', { category: 'compact' }, 2],
      ['carshare_fleet_cars', { category: 'premium' }, 1],
      ['carshare_search_riders_total', {}, 5],
      ['carshare_search_conversions_total', {}, 2],
      ['carshare_review_duration_seconds_count', { outcome: 'verified' }, 1],
      ['carshare_review_duration_seconds_sum', { outcome: 'rejected' }, 15 * 60],
      ['carshare_cars_offline', {}, 1],
      ['carshare_unlock_attempts_total', { result: 'ok' }, 1],
      ['carshare_unlock_attempts_total', { result: 'timeout' }, 1],
      ['carshare_unlock_attempts_total', { result: 'refused' }, 1],
      ['carshare_registrations_total', { role: 'rider' }, 1],
      ['carshare_verification_decisions_total', { outcome: 'rejected' }, 1],
      ['carshare_failed_trip_starts_total', { reason: 'CAR_DID_NOT_UNLOCK' }, 1],
      ['carshare_analytics_unprojected_events_total', { type: 'payment.captured' }, 1],
      ['carshare_analytics_unprojected_events_total', { type: 'trip.paused' }, 1],
      ['carshare_analytics_consumer_lag_seconds_count', { group: 'analytics.fleet' }, 9],
      ['carshare_analytics_consumer_lag_seconds_count', { group: 'analytics.searches' }, 6],
    ] as const) {
      assert.equal(sampleOf(page, name, labels), value, `${name}${JSON.stringify(labels)}`);
    }
  });

  it('passes promtool check metrics', { skip: promtoolMissing ? 'promtool is not installed: metric names were not linted' : false }, async () => {
    const page = await (await fetch(`${base}/metrics`)).text();
    const result = spawnSync('promtool', ['check', 'metrics'], { input: page, encoding: 'utf8', timeout: 30_000 });
    assert.equal(`${result.stdout}${result.stderr}`.trim(), '');
    assert.equal(result.status, 0);
  });

  it('`carshare analytics rebuild` replays the archive into the same views and says how far it got', async () => {
    const command = analyticsDescriptor.commands?.find((candidate) => candidate.words.join(' ') === 'analytics rebuild');
    assert.ok(command, 'no `analytics rebuild` command');
    const live = await module.stats.snapshot();
    const said: string[] = [];
    await command.run(module, {}, (line) => said.push(line));
    assert.deepEqual(await module.stats.snapshot(), live);
    assert.match(said.at(-2) ?? '', new RegExp(`^rebuild: ${history.length} / ${history.length} events \\(100 %\\), [\\d,]+ events/s$`));
    assert.match(said.at(-1) ?? '', new RegExp(`^rebuilt the analytics views from ${history.length} archived events in \\d+\\.\\d s$`));
  });

  it('dead-letters nothing for a history it understands', async () => {
    const letters = await module.messaging.deadLetters.list({ limit: 10 });
    assert.deepEqual(letters.items.map((item: { event: EventEnvelope }) => item.event.type), []);
  });
});
