import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAnalyticsModule, loadAnalyticsConfig, type AnalyticsModule } from '@carshare/analytics-service';
import type { EventEnvelope } from '@carshare/contracts';
import { InProcessEventBus } from '@carshare/messaging';
import { createObservability } from '@carshare/observability';
import { StaticDiscovery, systemClock, uuidV7Ids } from '@carshare/platform';
import { openSqlEngine, type SqlEngine } from '@carshare/storage';
import { sql } from 'kysely';
import { atLeast, atMost, formatGoal, type BenchmarkRun } from '../benchmark.ts';

/** Issue 16's goals: p99 from an event occurring to its figures in the views, at 2,000 events/s embedded. */
export const analyticsBenchGoals = { lagP99Ms: 1_000, eventsPerSecond: 2_000 } as const;

interface Embedded {
  engine: SqlEngine;
  bus: InProcessEventBus;
  module: AnalyticsModule;
  close(): Promise<void>;
}

/** The analytics module as `carshare up` runs it: PGlite on disk, the in-process bus. */
async function openEmbedded(onCommitted?: Parameters<typeof createAnalyticsModule>[0]['onCommitted']): Promise<Embedded> {
  const dataDir = await mkdtemp(join(tmpdir(), 'carshare-analytics-bench-'));
  const engine = await openSqlEngine({ dataDir });
  const bus = new InProcessEventBus();
  const module = createAnalyticsModule({
    config: loadAnalyticsConfig({ 'log.level': 'silent' }),
    observability: createObservability({ service: 'analytics', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false }),
    database: engine.forService('analytics'),
    bus,
    concurrentRelays: false,
    discovery: new StaticDiscovery({}),
    clock: systemClock,
    ...(onCommitted && { onCommitted }),
  });
  return {
    engine,
    bus,
    module,
    async close() {
      await module.close();
      await bus.close();
      await engine.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const categories = ['small', 'compact', 'premium', 'van'] as const;

/**
 * A rider's trip as the platform publishes it, eleven events: a search session, reservation, the car's unlock,
 * trip start and finish, the capture, and now and then a registration, a licence review, a car
 * going offline or a cancelled reservation. Every payload matches its contract.
 */
function tripEvents(n: number, occurredAt: string): EventEnvelope[] {
  const rider = uuidV7Ids.next();
  const car = uuidV7Ids.next();
  const trip = uuidV7Ids.next();
  const reservation = uuidV7Ids.next();
  const submission = uuidV7Ids.next();
  const event = (type: string, subject: string, data: Record<string, unknown>): EventEnvelope => ({
    id: uuidV7Ids.next(),
    type,
    version: 1,
    occurredAt,
    source: type.split('.')[0] as string,
    subject,
    data,
  });
  const tripData = { tripId: trip, riderId: rider, carId: car };
  const unlock = n % 50 === 0 ? { to: 'available', reason: 'device_did_not_answer' } : { to: 'in_use', reason: 'unlock_acked' };
  return [
    event('user.registered', rider, { userId: rider, email: `rider${n}@example.com`, role: 'rider', plan: 'free' }),
    event('profile.submitted', rider, { userId: rider, submissionId: submission }),
    event('profile.verified', rider, { userId: rider, submissionId: submission, by: 'ocr', expiresOn: '2031-01-01' }),
    event('car.searched', rider, { riderId: rider, category: null, carsFound: 3 }),
    event('reservation.created', reservation, { reservationId: reservation, riderId: rider, carId: car, expiresAt: occurredAt }),
    event('car.state_changed', car, { carId: car, from: 'unlocking', ...unlock, reservationId: reservation, version: 3 }),
    event('trip.started', trip, { ...tripData, category: categories[n % 4], tariffVersion: 'v1', depositCents: 5_000, startedAt: occurredAt }),
    event('trip.finished', trip, {
      ...tripData,
      finishedAt: occurredAt,
      totalCents: 1_250,
      currency: 'EUR',
      distanceM: 8_000,
      zoneId: 'centre',
      paymentStatus: 'captured',
    }),
    event('payment.captured', uuidV7Ids.next(), { paymentId: uuidV7Ids.next(), riderId: rider, reference: trip, currency: 'EUR', amountCents: 1_250, authorizedCents: 5_000 }),
    event('car.state_changed', car, { carId: car, from: 'available', to: 'offline', reservationId: null, reason: 'went_silent', version: 4 }),
    event('reservation.cancelled', uuidV7Ids.next(), { reservationId: uuidV7Ids.next(), riderId: rider, carId: car }),
  ];
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** Publishes at `rate` events/s for `seconds` (the first `warmupSec` not measured); lag = committed − occurredAt. */
async function measureLag(rate: number, seconds: number, warmupSec: number, log: (line: string) => void) {
  const lags: number[] = [];
  let measuredFrom = Number.POSITIVE_INFINITY;
  let committed = 0;
  const embedded = await openEmbedded((batch, committedAt) => {
    for (const { event } of batch.archived) {
      committed += 1;
      const occurred = Date.parse(event.occurredAt);
      if (occurred >= measuredFrom) lags.push(committedAt - occurred);
    }
  });
  try {
    await embedded.module.start();
    const started = performance.now();
    const startedAt = Date.now();
    measuredFrom = startedAt + warmupSec * 1000;
    let published = 0;
    let cycle = 0;
    let pending: EventEnvelope[] = [];
    // Every 5 ms publish what the schedule says is due: a steady rate, not bursts of a second.
    while (performance.now() - started < (seconds + warmupSec) * 1000) {
      const due = Math.floor(((performance.now() - started) / 1000) * rate) - published;
      if (due > 0) {
        const now = new Date().toISOString();
        const batch: EventEnvelope[] = [];
        while (batch.length < due) {
          if (pending.length === 0) {
            // 200 riders at once, step by step: one subject's next event comes ~200 events
            // (~0.1 s) after its last, as a trip's finish comes after its start, not with it.
            const cycles = Array.from({ length: 200 }, () => tripEvents((cycle += 1), now));
            pending = (cycles[0] ?? []).flatMap((_, step) => cycles.map((events) => events[step] as EventEnvelope));
          }
          const taken = pending.splice(0, due - batch.length);
          for (const event of taken) event.occurredAt = now;
          batch.push(...taken);
        }
        await embedded.bus.publish(batch);
        published += batch.length;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const publishSeconds = (performance.now() - started) / 1000;
    const drainDeadline = Date.now() + 60_000;
    while (committed < published && Date.now() < drainDeadline) await new Promise((resolve) => setTimeout(resolve, 20));
    log(`lag: ${published.toLocaleString('en')} events published in ${publishSeconds.toFixed(1)} s, ${committed.toLocaleString('en')} projected`);
    const sorted = lags.sort((a, b) => a - b);
    return {
      targetEventsPerSecond: rate,
      eventsPerSecond: published / publishSeconds,
      published,
      projected: committed,
      measured: sorted.length,
      p50LagMs: percentile(sorted, 50),
      p99LagMs: committed < published ? Number.POSITIVE_INFINITY : percentile(sorted, 99),
      maxLagMs: sorted.at(-1) ?? Number.NaN,
    };
  } finally {
    await embedded.close();
  }
}

/**
 * Fills the archive with `count` trip-shaped events (a search session and a reservation among
 * every six) straight in SQL (a million through the bus
 * would take minutes and measure the bus), spread over 30 days, then times the rebuild.
 */
async function measureRebuild(count: number, log: (line: string) => void) {
  const embedded = await openEmbedded();
  try {
    await embedded.module.start({ background: false });
    const db = embedded.engine.forService('analytics').db;
    const chunk = 100_000;
    const filled = performance.now();
    for (let from = 0; from < count; from += chunk) {
      const to = Math.min(count, from + chunk) - 1;
      await sql`
        with numbered as (
          select i, i % 6 as k,
            timestamptz '2026-01-01T00:00:00Z' + make_interval(secs => i * (2592000.0 / ${count})) as at,
            md5('trip' || (i / 6))::uuid as trip, md5('rider' || (i / 6))::uuid as rider, md5('car' || (i / 6 % 500))::uuid as car
          from generate_series(${from}::int, ${to}::int) as i
        ), shaped as (
          -- UUIDv7-shaped ids (time first) as the platform's are: a rebuild reads the archive in id order, so in time order.
          select (substr(lpad(to_hex(ms), 12, '0'), 1, 8) || '-' || substr(lpad(to_hex(ms), 12, '0'), 9, 4) || '-7' || substr(h, 1, 3) || '-8' || substr(h, 4, 3) || '-' || substr(h, 7, 12))::uuid as event_id,
            i, at, to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as iso,
            case k when 0 then 'trip.started' when 1 then 'trip.finished' when 2 then 'payment.captured' when 3 then 'car.state_changed' when 4 then 'car.searched' else 'reservation.created' end as type,
            case k when 2 then md5('payment' || i)::uuid when 3 then car when 4 then rider when 5 then md5('reservation' || i)::uuid else trip end as subject,
            case k
              when 0 then jsonb_build_object('tripId', trip, 'riderId', rider, 'carId', car, 'category', (array['small','compact','premium','van'])[i % 4 + 1],
                'tariffVersion', 'v1', 'depositCents', 5000, 'startedAt', to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
              when 1 then jsonb_build_object('tripId', trip, 'riderId', rider, 'carId', car, 'finishedAt', to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                'totalCents', 1250, 'currency', 'EUR', 'distanceM', 8000, 'zoneId', 'centre', 'paymentStatus', 'captured')
              when 2 then jsonb_build_object('paymentId', md5('payment' || i)::uuid, 'riderId', rider, 'reference', trip::text, 'currency', 'EUR', 'amountCents', 1250, 'authorizedCents', 5000)
              when 3 then jsonb_build_object('carId', car, 'from', 'unlocking', 'to', 'in_use', 'reservationId', null, 'reason', case when i % 50 = 3 then 'device_did_not_answer' else 'unlock_acked' end, 'version', 3)
              -- The rider's search session just before their reservation (k = 5): every one converts.
              when 4 then jsonb_build_object('riderId', rider, 'category', null, 'carsFound', 3)
              else jsonb_build_object('reservationId', md5('reservation' || i)::uuid, 'riderId', rider, 'carId', car, 'expiresAt', to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
            end as data
          from (select *, md5('event' || i) as h, (extract(epoch from at) * 1000)::bigint as ms from numbered) as stamped
        )
        insert into event_archive (event_id, day, type, version, occurred_at, envelope, archived_at)
        select event_id, (at at time zone 'UTC')::date, type, 1, at,
          jsonb_build_object('id', event_id, 'type', type, 'version', 1, 'occurredAt', iso, 'source', split_part(type, '.', 1), 'subject', subject, 'data', data),
          now()
        from shaped`.execute(db);
    }
    log(`rebuild: archived ${count.toLocaleString('en')} events in ${((performance.now() - filled) / 1000).toFixed(1)} s`);
    let lastLog = 0;
    const started = performance.now();
    // PGlite runs in this process: its CPU time is the rebuild's whole cost, and far steadier than wall time on a shared machine.
    const cpuBefore = process.cpuUsage();
    const { replayed } = await embedded.module.service.rebuild((done, total) => {
      if (performance.now() - lastLog < 2_000 && done < total) return;
      lastLog = performance.now();
      log(`rebuild: ${done.toLocaleString('en')} / ${total.toLocaleString('en')}`);
    });
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    // The views must hold what was replayed, or the speed means nothing.
    const { rows } = await sql<{ n: string | number }>`
      select coalesce(sum(count), 0) as n from stat_buckets where metric = 'trips_started' and bucket = 'day' and dimension = ''`.execute(db);
    const { rows: conversion } = await sql<{ searched: string | number; converted: string | number }>`
      select coalesce(sum(count), 0) as searched, coalesce(sum(sum), 0) as converted from stat_buckets
      where metric = 'search_conversion' and bucket = 'day' and dimension = ''`.execute(db);
    // Every rider searches once, just before reserving (k = 4, then 5): each reservation converts its search.
    const searchesArchived = Math.floor((count + 1) / 6);
    const reservationsArchived = Math.floor(count / 6);
    return {
      events: replayed,
      seconds,
      eventsPerSecond: replayed / seconds,
      cpuMicrosPerEvent: (cpu.user + cpu.system) / Math.max(1, replayed),
      tripsStartedInViews: Number(rows[0]?.n ?? 0),
      tripsStartedArchived: Math.ceil(count / 6),
      searchersInViews: Number(conversion[0]?.searched ?? 0),
      convertedInViews: Number(conversion[0]?.converted ?? 0),
      searchesArchived,
      reservationsArchived,
    };
  } finally {
    await embedded.close();
  }
}

/**
 *   npm run bench -- analytics                  lag at 2,000 events/s, rebuild of 100,000 archived events
 *   npm run bench -- analytics --full           … and of 1,000,000 (several minutes)
 *   npm run bench -- analytics --rate 4000 --archive-events 300000 --duration 20
 */
export const runAnalyticsBenchmark: BenchmarkRun = async (options) => {
  const flag = (name: string): string | undefined => (typeof options.flags[name] === 'string' ? (options.flags[name] as string) : undefined);
  const rate = Number(flag('rate') ?? analyticsBenchGoals.eventsPerSecond);
  const archiveEvents = Number(flag('archive-events') ?? (options.flags['full'] !== undefined ? 1_000_000 : 100_000));
  if (!Number.isFinite(rate) || rate <= 0) throw new Error('--rate is events per second, above 0');
  if (!Number.isInteger(archiveEvents) || archiveEvents <= 0) throw new Error('--archive-events is a whole number above 0');
  const log = (line: string) => process.stderr.write(`· ${line}\n`);
  const lag = await measureLag(rate, options.durationSec, options.warmupSec, log);
  const rebuild = await measureRebuild(archiveEvents, log);
  const goals = [
    atLeast('published events/s', lag.eventsPerSecond, rate * 0.95),
    atMost('lag p99 ms (occurred → views)', lag.p99LagMs, analyticsBenchGoals.lagP99Ms),
    atLeast('rebuilt trips = archived trips', rebuild.tripsStartedInViews === rebuild.tripsStartedArchived ? 1 : 0, 1),
    atLeast('rebuilt conversions = searches', rebuild.searchersInViews === rebuild.searchesArchived && rebuild.convertedInViews === rebuild.reservationsArchived ? 1 : 0, 1),
  ];
  const summary = [
    `analytics benchmark (embedded: PGlite on disk, in-process bus)`,
    `  lag at ${rate.toLocaleString('en')} events/s for ${options.durationSec} s (+${options.warmupSec} s warm-up): ${Math.round(lag.eventsPerSecond).toLocaleString('en')} events/s published, ` +
      `p50 ${lag.p50LagMs} ms   p99 ${lag.p99LagMs} ms   max ${lag.maxLagMs} ms   (${lag.measured.toLocaleString('en')} measured)`,
    `  rebuild of ${rebuild.events.toLocaleString('en')} archived events: ${rebuild.seconds.toFixed(1)} s, ${Math.round(rebuild.eventsPerSecond).toLocaleString('en')} events/s, ` +
      `${rebuild.cpuMicrosPerEvent.toFixed(1)} CPU µs/event (${Math.round(1e6 / rebuild.cpuMicrosPerEvent).toLocaleString('en')} events per CPU-second)`,
    `  load average at the end: ${loadavg().map((value) => value.toFixed(1)).join(' ')} (${availableParallelism()} cores)`,
    '',
    'goals',
    ...goals.map((goal) => `  ${formatGoal(goal, 34, 0)}`),
  ].join('\n');
  return { results: { lag, rebuild }, summary, goals };
};
