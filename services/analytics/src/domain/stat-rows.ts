import type { StatMetric } from '@carshare/contracts';
import type { Fact } from './projection.ts';
import { bucketStart, statBuckets, statMetrics, type StatBucketName } from './stat-metrics.ts';

/** One stored cell of the views: a figure in one bucket, in total (`dimension` '') or for one key. */
export interface StatRow {
  metric: StatMetric;
  bucket: StatBucketName;
  bucketStart: number;
  /** '' for the total, else the dimension's name (`category`, `result`, …). */
  dimension: string;
  /** '' for the total, else the dimension's value. */
  key: string;
  count: number;
  sum: number;
}

/**
 * Adds facts into cells keyed by (metric, bucket, start, dimension, key): every fact counts in
 * the total and once per dimension it carries, per hour and per day (or the sizes it names). Summing first means one
 * upsert per cell per batch, however many events fell into it.
 */
export class StatRowAccumulator {
  readonly #rows = new Map<string, StatRow>();

  add(fact: Fact): void {
    const dimensions = statMetrics[fact.metric].dimensions;
    for (const bucket of fact.buckets ?? statBuckets) {
      const start = bucketStart(bucket, fact.at);
      this.#addCell(fact, bucket, start, '', '');
      for (const dimension of dimensions) {
        const key = fact.dims[dimension];
        if (key !== undefined) this.#addCell(fact, bucket, start, dimension, key);
      }
    }
  }

  #addCell(fact: Fact, bucket: StatBucketName, start: number, dimension: string, key: string): void {
    const id = `${fact.metric}\u0000${bucket}\u0000${start}\u0000${dimension}\u0000${key}`;
    const row = this.#rows.get(id);
    if (row) {
      row.count += fact.count;
      row.sum += fact.sum;
    } else {
      this.#rows.set(id, { metric: fact.metric, bucket, bucketStart: start, dimension, key, count: fact.count, sum: fact.sum });
    }
  }

  get size(): number {
    return this.#rows.size;
  }

  rows(): StatRow[] {
    return [...this.#rows.values()];
  }
}
