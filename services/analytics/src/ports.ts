import type { EventEnvelope, StatMetric } from '@carshare/contracts';
import type { Clock } from '@carshare/platform';
import type { Fact, Reading } from './domain/projection.ts';
import type { StatBucketName } from './domain/stat-metrics.ts';
import type { StatRow } from './domain/stat-rows.ts';

/** What one transaction of the projection did: the events it archived first-time, and their figures. */
export interface ProjectedBatch {
  /** Events archived now, each with what it said; redeliveries are left out. */
  archived: Array<{ event: EventEnvelope; reading: Reading }>;
  /** Every fact added to the views, span completions included. */
  facts: Fact[];
}

export interface StoredPoint {
  bucketStart: number;
  key: string;
  count: number;
  sum: number;
  level: number;
}

export interface StatsSlice {
  metric: StatMetric;
  bucket: StatBucketName;
  /** '' for the totals. */
  dimension: string;
  from: number;
  to: number;
  limit: number;
  after: { bucketStart: number; key: string } | undefined;
}

/** The event archive and the views built from it, in the service's own schema. */
export interface StatsStore {
  /**
   * Archives the events it has not seen (by id) and adds their figures to the views, in one
   * transaction: the archive row is the inbox, so a redelivery adds nothing.
   */
  append(events: readonly EventEnvelope[], archivedAt: number): Promise<ProjectedBatch>;
  /** Oldest first, then by key; one more than `limit` when there is more. */
  query(slice: StatsSlice): Promise<StoredPoint[]>;
  /** Empties the views and replays the whole archive into them, in one transaction. */
  rebuild(onProgress: (replayed: number, total: number) => void, pageSize?: number): Promise<{ replayed: number }>;
  /** Deletes archived events of UTC days before `day` (YYYY-MM-DD), at most `limit` rows. */
  sweepArchive(day: string, limit: number): Promise<number>;
  /** Every cell of the views, in key order: what tests compare. */
  snapshot(): Promise<StatRow[]>;
  /** The running total of a level figure over all time (the current value of a gauge). */
  currentLevel(metric: StatMetric): Promise<number>;
  /** The same per key of one dimension (`category` → level). */
  currentLevels(metric: StatMetric, dimension: string): Promise<Map<string, number>>;
}

export interface AnalyticsPorts {
  stats: StatsStore;
  clock: Clock;
}
