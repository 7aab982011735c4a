import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EventEnvelope, StatsQuery } from '@carshare/contracts';
import type { Caller } from '@carshare/platform';
import { openSqlEngine, type ServiceDatabase, type SqlEngine } from '@carshare/storage';
import { FakeClock } from '@carshare/testing';
import { sql } from 'kysely';
import type { AnalyticsDatabase } from './adapters/analytics-database.ts';
import { SqlStatsStore } from './adapters/sql-stats-store.ts';
import { createAnalyticsService, type AnalyticsService } from './analytics-service.ts';
import { analyticsMigrationsDir } from './module.ts';
import { ProjectionWriter } from './projection-writer.ts';
import { scriptedHistory } from './testing/scripted-history.ts';

const operator: Caller = { userId: '01890a5d-ac96-774b-bcce-b302099a8057', role: 'operator', plan: 'unlimited', token: 't' };
const rider: Caller = { ...operator, role: 'rider', plan: 'free' };

interface Subject {
  engine: SqlEngine;
  database: ServiceDatabase<AnalyticsDatabase>;
  store: SqlStatsStore;
  service: AnalyticsService;
  writer: ProjectionWriter;
  clock: FakeClock;
  archived(): Promise<number>;
}

const databaseUrl = process.env['DATABASE_URL'];

/** PGlite in memory; PostgreSQL too when DATABASE_URL is set, in a schema of its own per run (others share the server). */
async function openSubject(engineKind: 'pglite' | 'postgres' = 'pglite'): Promise<Subject> {
  const onPostgres = engineKind === 'postgres' && databaseUrl !== undefined;
  const engine = onPostgres ? await openSqlEngine({ databaseUrl, dataDir: '' }) : await openSqlEngine({ dataDir: 'memory://' });
  const schema = onPostgres ? `analytics_test_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}` : 'analytics';
  const database = engine.forService<AnalyticsDatabase>(schema);
  await database.migrate(analyticsMigrationsDir);
  const store = new SqlStatsStore(database);
  const clock = new FakeClock('2026-03-02T13:00:00.000Z');
  const close = engine.close.bind(engine);
  engine.close = async () => {
    try {
      if (onPostgres) await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(database.db);
    } finally {
      await close();
    }
  };
  return {
    engine,
    database,
    store,
    clock,
    service: createAnalyticsService({ stats: store, clock }, { archiveRetentionDays: 30, sweepBatch: 2 }),
    writer: new ProjectionWriter({ store, clock, maxBatch: 7 }),
    async archived() {
      const { rows } = await sql<{ n: string | number }>`select count(*) as n from event_archive`.execute(database.db);
      return Number(rows[0]?.n);
    },
  };
}

/** Delivers events as a consumer group would: all at once, so the writer batches them. */
async function deliver(writer: ProjectionWriter, events: readonly EventEnvelope[]): Promise<void> {
  await Promise.all(events.map((event) => writer.write(event, 'test')));
}

/** A fixed shuffle (a small LCG): the same "random" order on every run. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let index = out.length - 1; index > 0; index -= 1) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    const other = state % (index + 1);
    [out[index], out[other]] = [out[other] as T, out[index] as T];
  }
  return out;
}

type Query = Omit<StatsQuery, 'limit'> & { limit?: number };

async function points(service: AnalyticsService, query: Query) {
  const page = await service.queryStats({ limit: 1000, ...query }, operator);
  return page.points.map(({ start, key, count, sum, level }) => ({ start: start.slice(0, 16), key, count, sum, level }));
}

const morning = { from: '2026-03-02T00:00:00.000Z', to: '2026-03-03T00:00:00.000Z' };
const p = (start: string, key: string | null, count: number, sum = 0, level: number | null = null) => ({ start, key, count, sum, level });

describe('analytics projection: a scripted history gives exactly these views', () => {
  let subject: Subject;
  before(async () => {
    subject = await openSubject();
    await deliver(subject.writer, scriptedHistory());
  });
  after(() => subject.engine.close());

  it('counts trips started per hour, by category', async () => {
    assert.deepEqual(await points(subject.service, { metric: 'trips_started', bucket: 'hour', ...morning }), [p('2026-03-02T10:00', null, 2), p('2026-03-02T11:00', null, 1)]);
    assert.deepEqual(await points(subject.service, { metric: 'trips_started', bucket: 'hour', by: 'category', ...morning }), [
      p('2026-03-02T10:00', 'compact', 1),
      p('2026-03-02T10:00', 'premium', 1),
      p('2026-03-02T11:00', 'premium', 1),
    ]);
  });

  it('counts a finished trip in the hour it finished, with its duration, start category and end zone', async () => {
    assert.deepEqual(await points(subject.service, { metric: 'trips_finished', bucket: 'hour', ...morning }), [
      p('2026-03-02T11:00', null, 1, 40 * 60_000),
      p('2026-03-02T13:00', null, 1, 90 * 60_000),
    ]);
    assert.deepEqual(await points(subject.service, { metric: 'trips_finished', bucket: 'hour', by: 'category', ...morning }), [
      p('2026-03-02T11:00', 'compact', 1, 40 * 60_000),
      p('2026-03-02T13:00', 'premium', 1, 90 * 60_000),
    ]);
    assert.deepEqual(await points(subject.service, { metric: 'trips_finished', bucket: 'hour', by: 'zone', ...morning }), [
      p('2026-03-02T11:00', 'centre', 1, 40 * 60_000),
      p('2026-03-02T13:00', 'airport', 1, 90 * 60_000),
    ]);
  });

  it('sums the prices of finished trips by the car category of the start and the zone of the end', async () => {
    assert.deepEqual(await points(subject.service, { metric: 'trip_revenue_cents', bucket: 'day', ...morning }), [p('2026-03-02T00:00', null, 2, 5450)]);
    assert.deepEqual(await points(subject.service, { metric: 'trip_revenue_cents', bucket: 'hour', by: 'category', ...morning }), [
      p('2026-03-02T11:00', 'compact', 1, 1250),
      p('2026-03-02T13:00', 'premium', 1, 4200),
    ]);
    assert.deepEqual(await points(subject.service, { metric: 'trip_revenue_cents', bucket: 'day', by: 'zone', ...morning }), [
      p('2026-03-02T00:00', 'airport', 1, 4200),
      p('2026-03-02T00:00', 'centre', 1, 1250),
    ]);
    assert.deepEqual(await points(subject.service, { metric: 'trip_revenue_cents', bucket: 'day', by: 'currency', ...morning }), [p('2026-03-02T00:00', 'EUR', 2, 5450)]);
  });

  it("cuts a finished trip's car time at every hour it crosses, counting it once per hour and once per day", async () => {
    const minutes = 60_000;
    assert.deepEqual(await points(subject.service, { metric: 'trip_time_ms', bucket: 'hour', ...morning }), [
      p('2026-03-02T10:00', null, 1, 30 * minutes),
      p('2026-03-02T11:00', null, 2, 25 * minutes),
      p('2026-03-02T12:00', null, 1, 60 * minutes),
      p('2026-03-02T13:00', null, 1, 15 * minutes),
    ]);
    assert.deepEqual(await points(subject.service, { metric: 'trip_time_ms', bucket: 'day', ...morning }), [p('2026-03-02T00:00', null, 2, 130 * minutes)]);
    assert.deepEqual(await points(subject.service, { metric: 'trip_time_ms', bucket: 'hour', by: 'category', ...morning }), [
      p('2026-03-02T10:00', 'compact', 1, 30 * minutes),
      p('2026-03-02T11:00', 'compact', 1, 10 * minutes),
      p('2026-03-02T11:00', 'premium', 1, 15 * minutes),
      p('2026-03-02T12:00', 'premium', 1, 60 * minutes),
      p('2026-03-02T13:00', 'premium', 1, 15 * minutes),
    ]);
    assert.deepEqual(await points(subject.service, { metric: 'trip_time_ms', bucket: 'day', by: 'zone', ...morning }), [
      p('2026-03-02T00:00', 'airport', 1, 90 * minutes),
      p('2026-03-02T00:00', 'centre', 1, 40 * minutes),
    ]);
  });

  it('keeps the fleet by category as a level, carried into a range from the days before', async () => {
    assert.deepEqual(await points(subject.service, { metric: 'fleet_size', bucket: 'hour', by: 'category', ...morning }), [
      p('2026-03-02T00:00', 'compact', 0, 0, 1),
      p('2026-03-02T00:00', 'premium', 0, 0, 1),
      p('2026-03-02T09:00', 'compact', 1, 1, 2),
    ]);
    assert.deepEqual(await points(subject.service, { metric: 'fleet_size', bucket: 'day', from: '2026-03-01T00:00:00.000Z', to: '2026-03-03T00:00:00.000Z' }), [
      p('2026-03-01T00:00', null, 2, 2, 2),
      p('2026-03-02T00:00', null, 1, 1, 3),
    ]);
  });

  it('counts riders who searched, and those of them who reserved within 30 minutes, in the bucket of the search', async () => {
    // 10:00: riders 1 and 4 searched, both reserved in time (rider 4 in the next hour).
    // 11:00: riders 1, 5 (twice) and 6 searched; 1 had reserved before, 6 reserved 40 minutes on.
    assert.deepEqual(await points(subject.service, { metric: 'search_conversion', bucket: 'hour', ...morning }), [
      p('2026-03-02T10:00', null, 2, 2),
      p('2026-03-02T11:00', null, 3, 0),
    ]);
    // The day counts each rider once: four riders, two converted.
    assert.deepEqual(await points(subject.service, { metric: 'search_conversion', bucket: 'day', ...morning }), [p('2026-03-02T00:00', null, 4, 2)]);
  });

  it('answers active trips as the level at the end of each hour', async () => {
    assert.deepEqual(await points(subject.service, { metric: 'active_trips', bucket: 'hour', ...morning }), [
      p('2026-03-02T10:00', null, 2, 2, 2),
      p('2026-03-02T11:00', null, 2, 0, 2),
      p('2026-03-02T13:00', null, 1, -1, 1),
    ]);
    assert.deepEqual(await points(subject.service, { metric: 'active_trips', bucket: 'hour', by: 'category', ...morning }), [
      p('2026-03-02T10:00', 'compact', 1, 1, 1),
      p('2026-03-02T10:00', 'premium', 1, 1, 1),
      p('2026-03-02T11:00', 'compact', 1, -1, 0),
      p('2026-03-02T11:00', 'premium', 1, 1, 2),
      p('2026-03-02T13:00', 'premium', 1, -1, 1),
    ]);
  });

  it('keeps the level of a quiet range: one point at its start, carried from before', async () => {
    assert.deepEqual(await points(subject.service, { metric: 'cars_offline', bucket: 'hour', from: '2026-03-02T13:00:00.000Z', to: '2026-03-02T15:00:00.000Z' }), [
      p('2026-03-02T13:00', null, 0, 0, 1),
    ]);
  });

  it('sums captured revenue per day by when it was captured, and refunds apart', async () => {
    assert.deepEqual(await points(subject.service, { metric: 'revenue_cents', bucket: 'day', from: '2026-03-01T00:00:00.000Z', to: '2026-03-03T00:00:00.000Z' }), [
      p('2026-03-01T00:00', null, 1, 800),
      p('2026-03-02T00:00', null, 1, 1250),
    ]);
    assert.deepEqual(await points(subject.service, { metric: 'refunds_cents', bucket: 'hour', by: 'reason', ...morning }), [p('2026-03-02T12:00', 'goodwill', 1, 200)]);
  });

  it('counts unlock attempts by result, cars going offline as a level, registrations by role', async () => {
    assert.deepEqual(await points(subject.service, { metric: 'unlock_attempts', bucket: 'hour', by: 'result', ...morning }), [
      p('2026-03-02T10:00', 'ok', 1),
      p('2026-03-02T10:00', 'refused', 1),
      p('2026-03-02T10:00', 'timeout', 1),
    ]);
    assert.deepEqual(await points(subject.service, { metric: 'cars_offline', bucket: 'hour', ...morning }), [
      p('2026-03-02T10:00', null, 1, 1, 1),
      p('2026-03-02T11:00', null, 2, 0, 1),
    ]);
    assert.deepEqual(await points(subject.service, { metric: 'registrations', bucket: 'day', by: 'role', ...morning }), [
      p('2026-03-02T00:00', 'operator', 1),
      p('2026-03-02T00:00', 'rider', 1),
    ]);
  });

  it('counts verification decisions and the time each submission waited for its review', async () => {
    assert.deepEqual(await points(subject.service, { metric: 'verification_approvals', bucket: 'hour', by: 'by', ...morning }), [p('2026-03-02T10:00', 'operator', 1)]);
    assert.deepEqual(await points(subject.service, { metric: 'verification_rejections', bucket: 'hour', by: 'reason', ...morning }), [
      p('2026-03-02T10:00', 'photo_unreadable', 1),
    ]);
    assert.deepEqual(await points(subject.service, { metric: 'review_duration_ms', bucket: 'hour', by: 'outcome', ...morning }), [
      p('2026-03-02T10:00', 'rejected', 1, 15 * 60_000),
      p('2026-03-02T10:00', 'verified', 1, 90 * 60_000),
    ]);
  });

  it('counts reservations by outcome and failed trip starts by reason', async () => {
    assert.deepEqual(await points(subject.service, { metric: 'reservations', bucket: 'day', by: 'outcome', ...morning }), [
      p('2026-03-02T00:00', 'cancelled', 1),
      p('2026-03-02T00:00', 'created', 3),
      p('2026-03-02T00:00', 'expired', 1),
    ]);
    assert.deepEqual(await points(subject.service, { metric: 'failed_trip_starts', bucket: 'hour', by: 'reason', ...morning }), [
      p('2026-03-02T10:00', 'CAR_DID_NOT_UNLOCK', 1),
    ]);
  });

  it('archives every event, also those it does not project (an unknown version, trip.paused)', async () => {
    assert.equal(await subject.archived(), scriptedHistory().length);
    const revenue = await points(subject.service, { metric: 'revenue_cents', bucket: 'hour', ...morning });
    assert.ok(revenue.every((point) => point.sum !== 999_999), 'payment.captured v2 was projected');
  });

  it('walks a long answer page by page, without repeats or gaps', async () => {
    const all = await points(subject.service, { metric: 'unlock_attempts', bucket: 'hour', by: 'result', ...morning });
    const seen: unknown[] = [];
    let cursor: string | undefined;
    do {
      const page = await subject.service.queryStats({ metric: 'unlock_attempts', bucket: 'hour', by: 'result', ...morning, limit: 1, ...(cursor && { cursor }) }, operator);
      assert.ok(page.points.length <= 1);
      seen.push(...page.points.map(({ start, key, count, sum, level }) => ({ start: start.slice(0, 16), key, count, sum, level })));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    assert.deepEqual(seen, all);
  });
});

describe('analytics projection: duplicates and the order of arrival change nothing', () => {
  let reference: Subject;
  let expected: unknown;
  before(async () => {
    reference = await openSubject();
    for (const event of scriptedHistory()) await reference.writer.write(event, 'test');
    expected = await reference.store.snapshot();
  });
  after(() => reference.engine.close());

  it('has something to compare', () => {
    assert.ok((expected as unknown[]).length > 40);
  });

  for (const [name, order] of [
    ['newest first (every finish before its start, every decision before its submission)', (events: EventEnvelope[]) => [...events].reverse()],
    ['shuffled (seed 7)', (events: EventEnvelope[]) => shuffled(events, 7)],
    ['shuffled (seed 2026)', (events: EventEnvelope[]) => shuffled(events, 2026)],
  ] as const) {
    it(`gives the same views delivered ${name}, every event twice`, async () => {
      const subject = await openSubject();
      try {
        const events = order(scriptedHistory());
        await deliver(subject.writer, [...events, ...shuffled(events, 11)]);
        // A redelivery long after, alone in its batch, is absorbed too.
        await subject.writer.write(events[0] as EventEnvelope, 'test');
        assert.deepEqual(await subject.store.snapshot(), expected);
        assert.equal(await subject.archived(), events.length);
      } finally {
        await subject.engine.close();
      }
    });
  }

  for (const engineKind of ['pglite', ...(databaseUrl === undefined ? [] : ['postgres' as const])] as const) {
    it(`gives the same views when two instances take the same events at once (${engineKind})`, async () => {
      const subject = await openSubject(engineKind);
      try {
        // Each reads that no event is archived yet and decides alike; one commits, the other
        // finds its archive rows taken and decides again on what is there now.
        const other = new SqlStatsStore(subject.database);
        const events = scriptedHistory();
        await Promise.all([subject.store.append(events, subject.clock.now()), other.append(shuffled(events, 5), subject.clock.now())]);
        assert.deepEqual(await subject.store.snapshot(), expected);
        assert.equal(await subject.archived(), events.length);
      } finally {
        await subject.engine.close();
      }
    });
  }
});

describe('analytics projection: a rebuild from the archive equals the live views', () => {
  let subject: Subject;
  before(async () => {
    subject = await openSubject();
    await deliver(subject.writer, shuffled(scriptedHistory(), 3));
  });
  after(() => subject.engine.close());

  it('drops the views and replays the archive into the same cells, field by field, page by page', async () => {
    const live = await subject.store.snapshot();
    const progress: Array<[number, number]> = [];
    const { replayed } = await subject.store.rebuild((done, total) => progress.push([done, total]), 4);
    assert.equal(replayed, scriptedHistory().length);
    assert.deepEqual(progress.at(0), [0, replayed]);
    assert.deepEqual(progress.at(-1), [replayed, replayed]);
    assert.ok(progress.length > 3, 'pages of 4 report progress more than once');
    assert.deepEqual(await subject.store.snapshot(), live);
  });

  it('keeps counting live events after a rebuild, once each', async () => {
    const before = await points(subject.service, { metric: 'trips_started', bucket: 'day', ...morning });
    await subject.store.rebuild(() => {});
    await deliver(subject.writer, scriptedHistory());
    assert.deepEqual(await points(subject.service, { metric: 'trips_started', bucket: 'day', ...morning }), before);
  });
});

describe('analytics queries', () => {
  let subject: Subject;
  before(async () => {
    subject = await openSubject();
  });
  after(() => subject.engine.close());
  const query: StatsQuery = { metric: 'trips_started', bucket: 'hour', ...morning, limit: 10 };

  it('are for operators only', async () => {
    await assert.rejects(subject.service.queryStats(query, undefined), { reason: 'AUTHENTICATION_REQUIRED' });
    await assert.rejects(subject.service.queryStats(query, rider), { reason: 'OPERATOR_ONLY' });
  });

  it('refuse an empty or backwards range, and one longer than 31 days of hours or 400 of days', async () => {
    await assert.rejects(subject.service.queryStats({ ...query, to: query.from }, operator), { reason: 'INVALID_RANGE' });
    await assert.rejects(subject.service.queryStats({ ...query, from: '2026-03-01T00:00:00.000Z', to: '2026-04-01T00:00:01.000Z' }, operator), { reason: 'INVALID_RANGE' });
    await subject.service.queryStats({ ...query, from: '2026-03-01T00:00:00.000Z', to: '2026-04-01T00:00:00.000Z' }, operator);
    await subject.service.queryStats({ ...query, bucket: 'day', from: '2026-01-01T00:00:00.000Z', to: '2027-02-05T00:00:00.000Z' }, operator);
    await assert.rejects(subject.service.queryStats({ ...query, bucket: 'day', from: '2026-01-01T00:00:00.000Z', to: '2027-02-05T00:00:00.001Z' }, operator), {
      reason: 'INVALID_RANGE',
    });
  });

  it('refuse a dimension the figure does not have, and a cursor they did not give out', async () => {
    await assert.rejects(subject.service.queryStats({ ...query, by: 'currency' }, operator), { reason: 'INVALID_DIMENSION' });
    await assert.rejects(subject.service.queryStats({ ...query, cursor: 'bm90LWEtY3Vyc29y' }, operator), { reason: 'INVALID_CURSOR' });
  });
});

describe('analytics archive retention', () => {
  it('sweeps archived days past the retention in batches and leaves the views alone', async () => {
    const subject = await openSubject();
    try {
      await deliver(subject.writer, scriptedHistory());
      const views = await subject.store.snapshot();
      // 30 days of retention on 2 April keep 3 March on: 1 and 2 March go, two rows a statement.
      subject.clock.advance(31 * 86_400_000);
      assert.equal(await subject.service.sweepArchive(), scriptedHistory().length);
      assert.equal(await subject.archived(), 0);
      assert.deepEqual(await subject.store.snapshot(), views);
    } finally {
      await subject.engine.close();
    }
  });

  it('keeps the days within the retention', async () => {
    const subject = await openSubject();
    try {
      await deliver(subject.writer, scriptedHistory());
      subject.clock.advance(29 * 86_400_000);
      // On 31 March a 30-day retention still keeps 1 March; a day later 1 March (a capture, two cars created) goes.
      assert.equal(await subject.service.sweepArchive(), 0);
      subject.clock.advance(86_400_000);
      assert.equal(await subject.service.sweepArchive(), 3);
      assert.equal(await subject.archived(), scriptedHistory().length - 3);
    } finally {
      await subject.engine.close();
    }
  });
});

describe('analytics projection on PostgreSQL: duplicates, disorder and a rebuild change nothing', { skip: databaseUrl ? false : 'DATABASE_URL is not set: PostgreSQL was not tried' }, () => {
  it('gives the views of PGlite, delivered shuffled twice, and again after a rebuild', async () => {
    const reference = await openSubject();
    const subject = await openSubject('postgres');
    try {
      for (const event of scriptedHistory()) await reference.writer.write(event, 'test');
      const events = shuffled(scriptedHistory(), 5);
      await deliver(subject.writer, [...events, ...shuffled(events, 9)]);
      const expected = await reference.store.snapshot();
      assert.deepEqual(await subject.store.snapshot(), expected);
      await subject.store.rebuild(() => {}, 3);
      assert.deepEqual(await subject.store.snapshot(), expected);
      assert.deepEqual(
        await points(subject.service, { metric: 'active_trips', bucket: 'hour', by: 'category', ...morning }),
        await points(reference.service, { metric: 'active_trips', bucket: 'hour', by: 'category', ...morning }),
      );
    } finally {
      await subject.engine.close();
      await reference.engine.close();
    }
  });
});
