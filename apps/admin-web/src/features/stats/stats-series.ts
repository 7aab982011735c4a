import type { StatMetric, StatPoint } from '@carshare/contracts';

export type StatField = 'count' | 'sum' | 'level';
export type StatBucket = 'hour' | 'day';

export const bucketMs: Record<StatBucket, number> = { hour: 3_600_000, day: 86_400_000 };

/** One line of a chart: which figure, which of its numbers, and how to scale it for display. */
export interface SeriesSpec {
  metric: StatMetric;
  field: StatField;
  /** Cents are drawn as currency units. */
  divisor?: number;
  /** The dimension's value to draw (`compact`, `ok`, …); the total when absent. */
  key?: string;
}

/** The bucket starts from `from` (rounded down, as the API rounds) up to `to`, epoch ms. */
export function bucketStarts(from: Date, to: Date, bucket: StatBucket): number[] {
  const step = bucketMs[bucket];
  const starts: number[] = [];
  for (let at = Math.floor(from.getTime() / step) * step; at < to.getTime(); at += step) starts.push(at);
  return starts;
}

/**
 * The API answers only the buckets that had events. Between them a count or a sum is zero (no
 * event happened: a fact, not a guess), and a level stays where the last bucket left it. Before the
 * first known level the value is unknown and stays a gap, never a made-up zero.
 */
export function alignSeries(starts: readonly number[], points: readonly StatPoint[], spec: SeriesSpec): Array<number | null> {
  const key = spec.key ?? null;
  const byStart = new Map<number, StatPoint>();
  for (const point of points) if (point.key === key) byStart.set(Date.parse(point.start), point);
  const divisor = spec.divisor ?? 1;
  let level: number | null = null;
  return starts.map((start) => {
    const point = byStart.get(start);
    if (spec.field === 'level') {
      if (point?.level !== undefined && point.level !== null) level = point.level;
      return level === null ? null : level / divisor;
    }
    const value = point ? (spec.field === 'count' ? point.count : point.sum) : 0;
    return value / divisor;
  });
}

/** The dimension values a breakdown answered, in the API's order (by key). */
export function keysOf(points: readonly StatPoint[]): string[] {
  return [...new Set(points.flatMap((point) => (point.key === null ? [] : [point.key])))].sort();
}

/** Bucket by bucket sums of several aligned series (a gap in any is a gap). */
export function addSeries(...series: ReadonlyArray<ReadonlyArray<number | null>>): Array<number | null> {
  const length = Math.max(0, ...series.map((values) => values.length));
  return Array.from({ length }, (_, index) => {
    let total = 0;
    for (const values of series) {
      const value = values[index];
      if (value === null || value === undefined) return null;
      total += value;
    }
    return total;
  });
}

/**
 * `numerator / denominator × scale` per bucket. A bucket with nothing to divide by (no unlock
 * attempted, no rider searched, no car in the fleet) has no rate: a gap, never a made-up 0 or 100 %.
 */
export function ratioSeries(numerator: ReadonlyArray<number | null>, denominator: ReadonlyArray<number | null>, scale = 100): Array<number | null> {
  return numerator.map((value, index) => {
    const base = denominator[index];
    if (value === null || base === null || base === undefined || base <= 0) return null;
    return (value / base) * scale;
  });
}

/**
 * Utilisation in % per bucket: car time in trips (ms) / (cars in the fleet × the bucket's length).
 * The car time is that of finished trips, so the current bucket fills in as its trips end.
 */
export function utilisationSeries(tripTimeMs: ReadonlyArray<number | null>, fleet: ReadonlyArray<number | null>, bucket: StatBucket): Array<number | null> {
  return ratioSeries(
    tripTimeMs,
    fleet.map((cars) => (cars === null ? null : cars * bucketMs[bucket])),
  );
}
