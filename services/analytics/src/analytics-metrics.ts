import type { StatMetric } from '@carshare/contracts';
import { metricNames } from '@carshare/observability';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Fact } from './domain/projection.ts';
import type { ProjectedBatch } from './ports.ts';

const names = metricNames.analytics;

type LabelledCounter = Counter<string>;

/**
 * The business figures as Prometheus series, so alerts and dashboards need no SQL. Counters move
 * as the consumers project events (a rebuild replays history into the views, not into these);
 * levels are read from the views at scrape time, so they survive restarts and rebuilds.
 */
export class AnalyticsMetrics {
  readonly #byMetric: Partial<Record<StatMetric, (fact: Fact) => unknown>>;
  readonly #lag: Histogram<'group'>;
  readonly #unprojected: Counter<'type'>;

  constructor(
    registry: Registry,
    levels: { activeTrips: () => Promise<ReadonlyMap<string, number>>; carsOffline: () => Promise<number>; fleetCars: () => Promise<ReadonlyMap<string, number>> },
  ) {
    const counter = (name: string, help: string, labelNames: string[]): LabelledCounter => new Counter({ name, help, labelNames, registers: [registry] });
    const tripsStarted = counter(names.tripsStarted, 'Trips started, by car category', ['category']);
    const tripsFinished = counter(names.tripsFinished, 'Trips finished, by car category and end zone', ['category', 'zone']);
    const revenue = counter(names.revenueCents, 'Money captured for trips, in minor units (cents), by currency', ['currency']);
    const unlocks = counter(names.unlockAttempts, 'Unlock attempts by how they ended: ok, refused (by the device), timeout (no answer), aborted', ['result']);
    const registrations = counter(names.registrations, 'Accounts registered, by role', ['role']);
    const decisions = counter(names.verificationDecisions, 'Licence verification decisions, by outcome', ['outcome']);
    const failedStarts = counter(names.failedTripStarts, 'Trip starts that failed and were compensated, by reason', ['reason']);
    const tripRevenue = counter(names.tripRevenueCents, 'Prices of finished trips, in minor units (cents), by car category, end zone and currency', ['category', 'zone', 'currency']);
    const tripSeconds = counter(names.tripSeconds, "Cars' time in finished trips, by car category and end zone (counted when the trip ends)", ['category', 'zone']);
    const searchRiders = counter(names.searchRiders, 'Riders who searched for cars, once per rider and hour', []);
    const searchConversions = counter(names.searchConversions, 'Of the riders who searched in an hour, those who reserved within the conversion window after', []);
    const reviewDuration = new Histogram({
      name: names.reviewDuration,
      help: 'Time from a licence submission to its review decision, by outcome',
      labelNames: ['outcome'],
      buckets: [60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 72 * 3600],
      registers: [registry],
    });
    const category = (fact: Fact) => ({ category: fact.dims.category ?? 'unknown' });
    // Facts cut per bucket size come once per hour and once per day: the hour's are the whole.
    const hourly = (fact: Fact) => fact.buckets === undefined || fact.buckets.includes('hour');
    this.#byMetric = {
      trips_started: (fact) => tripsStarted.inc(category(fact), fact.count),
      trips_finished: (fact) => tripsFinished.inc({ ...category(fact), zone: fact.dims.zone ?? 'unknown' }, fact.count),
      revenue_cents: (fact) => revenue.inc({ currency: fact.dims.currency ?? 'unknown' }, fact.sum),
      unlock_attempts: (fact) => unlocks.inc({ result: fact.dims.result ?? 'unknown' }, fact.count),
      registrations: (fact) => registrations.inc({ role: fact.dims.role ?? 'unknown' }, fact.count),
      verification_approvals: (fact) => decisions.inc({ outcome: 'verified' }, fact.count),
      verification_rejections: (fact) => decisions.inc({ outcome: 'rejected' }, fact.count),
      failed_trip_starts: (fact) => failedStarts.inc({ reason: fact.dims.reason ?? 'unknown' }, fact.count),
      trip_revenue_cents: (fact) => tripRevenue.inc({ ...category(fact), zone: fact.dims.zone ?? 'unknown', currency: fact.dims.currency ?? 'unknown' }, fact.sum),
      trip_time_ms: (fact) => hourly(fact) && tripSeconds.inc({ ...category(fact), zone: fact.dims.zone ?? 'unknown' }, fact.sum / 1000),
      search_conversion: (fact) => {
        if (!hourly(fact)) return;
        if (fact.count > 0) searchRiders.inc(fact.count);
        if (fact.sum > 0) searchConversions.inc(fact.sum);
      },
      review_duration_ms: (fact) => reviewDuration.observe({ outcome: fact.dims.outcome ?? 'unknown' }, fact.sum / 1000),
    };
    const level = (name: string, help: string, read: () => Promise<number>) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        async collect() {
          // A scrape while the database is away shows no sample rather than a made-up zero.
          try {
            this.set(await read());
          } catch {
            this.reset();
          }
        },
      });
    const levelsBy = (name: string, help: string, label: string, read: () => Promise<ReadonlyMap<string, number>>) =>
      new Gauge({
        name,
        help,
        labelNames: [label],
        registers: [registry],
        async collect() {
          this.reset();
          try {
            for (const [key, value] of await read()) this.set({ [label]: key }, value);
          } catch {
            // As above: no sample rather than a made-up one.
          }
        },
      });
    levelsBy(names.activeTrips, 'Trips in progress now (started, not yet finished), by car category', 'category', levels.activeTrips);
    level(names.carsOffline, 'Cars offline now (silent devices)', levels.carsOffline);
    levelsBy(names.fleetCars, 'Cars in the fleet (created), by category: with active trips, the utilisation now', 'category', levels.fleetCars);
    this.#lag = new Histogram({
      name: names.consumerLag,
      help: 'Time from an event occurring to its figures being in the views, by consumer group',
      labelNames: ['group'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    });
    this.#unprojected = new Counter({
      name: names.unprojectedEvents,
      help: 'Events archived but not projected (a type or version analytics does not read), by type',
      labelNames: ['type'],
      registers: [registry],
    });
  }

  /** Counts what one committed batch added, and how late each of its events arrived. */
  committed(batch: ProjectedBatch, groups: ReadonlyMap<string, string>, committedAt: number): void {
    for (const fact of batch.facts) this.#byMetric[fact.metric]?.(fact);
    for (const { event, reading } of batch.archived) {
      const occurred = Date.parse(event.occurredAt);
      if (Number.isFinite(occurred)) this.#lag.observe({ group: groups.get(event.id) ?? 'unknown' }, Math.max(0, committedAt - occurred) / 1000);
      if (!reading.projected) this.#unprojected.inc({ type: event.type });
    }
  }
}
