import type { StatDimension, StatMetric } from '@carshare/contracts';

/**
 * How a figure adds up. `count` and `sum` figures are answered per bucket as stored; a `level` is
 * stored as +1/−1 changes and answered as a running total, so a late change still lands in its
 * own bucket and every later level moves with it.
 */
export type StatKind = 'count' | 'sum' | 'level';

export interface StatMetricInfo {
  readonly kind: StatKind;
  readonly unit: 'count' | 'cents' | 'ms';
  /** The dimensions its events carry; a query `by` anything else is refused. */
  readonly dimensions: readonly StatDimension[];
}

export const statMetrics: Readonly<Record<StatMetric, StatMetricInfo>> = {
  // trip.started carries no zone (only the car's category): trips by zone are trips_finished by end zone.
  trips_started: { kind: 'count', unit: 'count', dimensions: ['category'] },
  // `sum` is the trips' duration: sum / count is the mean trip length.
  trips_finished: { kind: 'sum', unit: 'ms', dimensions: ['category', 'zone'] },
  active_trips: { kind: 'level', unit: 'count', dimensions: ['category'] },
  revenue_cents: { kind: 'sum', unit: 'cents', dimensions: ['currency'] },
  refunds_cents: { kind: 'sum', unit: 'cents', dimensions: ['currency', 'reason'] },
  registrations: { kind: 'count', unit: 'count', dimensions: ['role'] },
  verification_approvals: { kind: 'count', unit: 'count', dimensions: ['by'] },
  verification_rejections: { kind: 'count', unit: 'count', dimensions: ['reason'] },
  review_duration_ms: { kind: 'sum', unit: 'ms', dimensions: ['outcome'] },
  reservations: { kind: 'count', unit: 'count', dimensions: ['outcome'] },
  failed_trip_starts: { kind: 'count', unit: 'count', dimensions: ['reason', 'category'] },
  unlock_attempts: { kind: 'count', unit: 'count', dimensions: ['result'] },
  cars_offline: { kind: 'level', unit: 'count', dimensions: [] },
  trip_revenue_cents: { kind: 'sum', unit: 'cents', dimensions: ['category', 'zone', 'currency'] },
  // `count` is trips overlapping the bucket, `sum` their car time inside it.
  trip_time_ms: { kind: 'sum', unit: 'ms', dimensions: ['category', 'zone'] },
  fleet_size: { kind: 'level', unit: 'count', dimensions: ['category'] },
  // `count` riders who searched in the bucket, `sum` those of them who reserved within the window.
  search_conversion: { kind: 'sum', unit: 'count', dimensions: [] },
};

export const statBuckets = ['hour', 'day'] as const;
export type StatBucketName = (typeof statBuckets)[number];

const hourMs = 3_600_000;
const dayMs = 24 * hourMs;

/** The start of the UTC hour or day that holds `at` (epoch ms). */
export function bucketStart(bucket: StatBucketName, at: number): number {
  const size = bucket === 'hour' ? hourMs : dayMs;
  return Math.floor(at / size) * size;
}

export function bucketSizeMs(bucket: StatBucketName): number {
  return bucket === 'hour' ? hourMs : dayMs;
}
