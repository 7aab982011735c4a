import type { ColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;

/** The analytics service's tables as kysely sees them (mirrors migrations/). */
export interface AnalyticsDatabase {
  items: {
    id: string;
    owner_id: string;
    name: string;
    created_at: Timestamp;
  };
}
