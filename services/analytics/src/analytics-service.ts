import { isStaff, type StatDimension, type StatsPage, type StatsQuery } from '@carshare/contracts';
import { InvalidArgument, PermissionDenied, Unauthenticated, type Caller } from '@carshare/platform';
import { decodeCursor, encodeCursor } from '@carshare/storage';
import { bucketSizeMs, bucketStart, statMetrics } from './domain/stat-metrics.ts';
import type { AnalyticsPorts } from './ports.ts';

/** The longest range one query may cover: a month of hours, a bit over a year of days. */
export const maxRangeBuckets = { hour: 31 * 24, day: 400 } as const;

export interface AnalyticsSettings {
  /** Archived events older than this many days are swept (the views keep their figures). */
  archiveRetentionDays: number;
  /** Rows one sweep deletes at most: the sweeper never holds the database long. */
  sweepBatch: number;
}

function requireOperator(caller: Caller | undefined): Caller {
  if (!caller) throw Unauthenticated('AUTHENTICATION_REQUIRED', 'sign in first');
  if (!isStaff(caller.role)) throw PermissionDenied('OPERATOR_ONLY', 'business figures are for operators');
  return caller;
}

function parseAfter(cursor: string | undefined): { bucketStart: number; key: string } | undefined {
  if (cursor === undefined) return undefined;
  const [start, key, ...rest] = decodeCursor(cursor);
  if (!(start instanceof Date) || typeof key !== 'string' || rest.length > 0) {
    throw InvalidArgument('INVALID_CURSOR', 'the cursor is malformed; pass back a cursor returned by a previous page');
  }
  return { bucketStart: start.getTime(), key };
}

/** The analytics service's use cases: figures for operators, and the archive's upkeep. */
export function createAnalyticsService(ports: AnalyticsPorts, settings: AnalyticsSettings) {
  const { stats, clock } = ports;
  return {
    async queryStats(input: StatsQuery, caller: Caller | undefined): Promise<StatsPage> {
      requireOperator(caller);
      const info = statMetrics[input.metric];
      const from = bucketStart(input.bucket, Date.parse(input.from));
      const to = Date.parse(input.to);
      if (!Number.isFinite(from) || !Number.isFinite(to) || to <= from) {
        throw InvalidArgument('INVALID_RANGE', '`to` must come after `from`', { from: input.from, to: input.to });
      }
      const maxBuckets = maxRangeBuckets[input.bucket];
      if (to - from > maxBuckets * bucketSizeMs(input.bucket)) {
        throw InvalidArgument('INVALID_RANGE', `a query by ${input.bucket} covers at most ${maxBuckets} ${input.bucket}s`, { maxBuckets, bucket: input.bucket });
      }
      const by: StatDimension | undefined = input.by;
      if (by !== undefined && !info.dimensions.includes(by)) {
        throw InvalidArgument('INVALID_DIMENSION', `${input.metric} is not broken down by ${by}`, { metric: input.metric, dimensions: [...info.dimensions] });
      }
      const rows = await stats.query({
        metric: input.metric,
        bucket: input.bucket,
        dimension: by ?? '',
        from,
        to,
        limit: input.limit,
        after: parseAfter(input.cursor),
      });
      const page = rows.slice(0, input.limit);
      const last = page.at(-1);
      return {
        metric: input.metric,
        bucket: input.bucket,
        by: by ?? null,
        unit: info.unit,
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        points: page.map((row) => ({
          start: new Date(row.bucketStart).toISOString(),
          key: by === undefined ? null : row.key,
          count: row.count,
          sum: row.sum,
          level: info.kind === 'level' ? row.level : null,
        })),
        nextCursor: rows.length > input.limit && last ? encodeCursor([new Date(last.bucketStart), last.key]) : null,
      };
    },

    /** Drops the views and replays the archive into them; `progress` hears about every page. */
    rebuild(progress: (replayed: number, total: number) => void): Promise<{ replayed: number }> {
      return stats.rebuild(progress);
    },

    /** One round of retention: archived days older than the retention go, a batch at a time. */
    async sweepArchive(): Promise<number> {
      const cutoff = new Date(clock.now() - settings.archiveRetentionDays * 86_400_000).toISOString().slice(0, 10);
      let removed = 0;
      for (;;) {
        const deleted = await stats.sweepArchive(cutoff, settings.sweepBatch);
        removed += deleted;
        if (deleted < settings.sweepBatch) return removed;
      }
    },
  };
}

export type AnalyticsService = ReturnType<typeof createAnalyticsService>;
