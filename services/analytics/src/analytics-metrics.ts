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
  readonly #byMetric: Partial<Record<StatMetric, (fact: Fact) => void>>;
  readonly #lag: Histogram<'group'>;
  readonly #unprojected: Counter<'type'>;

  constructor(registry: Registry, levels: { activeTrips: () => Promise<number>; carsOffline: () => Promise<number> }) {
    const counter = (name: string, help: string, labelNames: string[]): LabelledCounter => new Counter({ name, help, labelNames, registers: [registry] });
    const tripsStarted = counter(names.tripsStarted, 'Trips started, by car category', ['category']);
    const tripsFinished = counter(names.tripsFinished, 'Trips finished, by car category', ['category']);
    const revenue = counter(names.revenueCents, 'Money captured for trips, in minor units (cents), by currency', ['currency']);
    const unlocks = counter(names.unlockAttempts, 'Unlock attempts by how they ended: ok, refused (by the device), timeout (no answer), aborted', ['result']);
    const registrations = counter(names.registrations, 'Accounts registered, by role', ['role']);
    const decisions = counter(names.verificationDecisions, 'Licence verification decisions, by outcome', ['outcome']);
    const failedStarts = counter(names.failedTripStarts, 'Trip starts that failed and were compensated, by reason', ['reason']);
    const category = (fact: Fact) => ({ category: fact.dims.category ?? 'unknown' });
    this.#byMetric = {
      trips_started: (fact) => tripsStarted.inc(category(fact), fact.count),
      trips_finished: (fact) => tripsFinished.inc(category(fact), fact.count),
      revenue_cents: (fact) => revenue.inc({ currency: fact.dims.currency ?? 'unknown' }, fact.sum),
      unlock_attempts: (fact) => unlocks.inc({ result: fact.dims.result ?? 'unknown' }, fact.count),
      registrations: (fact) => registrations.inc({ role: fact.dims.role ?? 'unknown' }, fact.count),
      verification_approvals: (fact) => decisions.inc({ outcome: 'verified' }, fact.count),
      verification_rejections: (fact) => decisions.inc({ outcome: 'rejected' }, fact.count),
      failed_trip_starts: (fact) => failedStarts.inc({ reason: fact.dims.reason ?? 'unknown' }, fact.count),
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
    level(names.activeTrips, 'Trips in progress now (started, not yet finished)', levels.activeTrips);
    level(names.carsOffline, 'Cars offline now (silent devices)', levels.carsOffline);
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
