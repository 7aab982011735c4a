import type { ColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** int8 comes back as a string (pg) or a bigint/number (PGlite): read it through Number(). */
type BigCount = ColumnType<string | number | bigint, number, number>;

/** The analytics service's tables as kysely sees them (mirrors migrations/). */
export interface AnalyticsDatabase {
  event_archive: {
    event_id: string;
    day: ColumnType<string | Date, string, string>;
    type: string;
    version: number;
    occurred_at: Timestamp;
    envelope: ColumnType<unknown, string, string>;
    archived_at: Timestamp;
  };
  stat_buckets: {
    metric: string;
    bucket: string;
    bucket_start: Timestamp;
    dimension: string;
    key: string;
    count: BigCount;
    sum: BigCount;
  };
  stat_spans: {
    kind: string;
    id: string;
    opened_at: Timestamp | null;
    open_attrs: ColumnType<unknown, string, string>;
    closed_at: Timestamp | null;
    close_attrs: ColumnType<unknown, string, string>;
  };
  rider_activity: {
    event_id: string;
    rider_id: string;
    kind: string;
    at: Timestamp;
  };
}
