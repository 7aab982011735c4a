import type { StatMetric, StatPoint } from '@carshare/contracts';

export type StatField = 'count' | 'sum' | 'level';
export type StatBucket = 'hour' | 'day';

const bucketMs: Record<StatBucket, number> = { hour: 3_600_000, day: 86_400_000 };

/** One line of a chart: which figure, which of its numbers, and how to scale it for display. */
export interface SeriesSpec {
  metric: StatMetric;
  field: StatField;
  /** Cents are drawn as currency units. */
  divisor?: number;
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
  const byStart = new Map<number, StatPoint>();
  for (const point of points) if (point.key === null) byStart.set(Date.parse(point.start), point);
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
