import type { ColumnType, Generated, JSONColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;

/** The trip service's tables as kysely sees them (mirrors migrations/). */
export interface TripDatabase {
  reservations: {
    id: string;
    rider_id: string;
    car_id: string;
    status: string;
    created_at: Timestamp;
    expires_at: Timestamp;
    ended_at: NullableTimestamp;
    extended_at: Generated<Date | null>;
    extension_minutes: Generated<number | null>;
    extension_fee_cents: Generated<number | null>;
    extension_currency: Generated<string | null>;
    extension_fee_status: Generated<string | null>;
  };
  trip_events: {
    trip_id: string;
    seq: number;
    type: string;
    data: JSONColumnType<Record<string, unknown>>;
    at: Timestamp;
  };
  trips: {
    id: string;
    rider_id: string;
    car_id: string;
    reservation_id: string | null;
    status: string;
    category: string;
    tariff: JSONColumnType<Record<string, unknown>>;
    deposit_cents: number;
    payment_id: string | null;
    payment_status: string | null;
    failure_reason: string | null;
    started_at: NullableTimestamp;
    paused_ms: Generated<string | number>;
    paused_since: NullableTimestamp;
    finished_at: NullableTimestamp;
    price: ColumnType<Record<string, unknown> | null, string | null, string | null>;
    finish_saga_id: Generated<string | null>;
    distance_m: Generated<number | null>;
    end_zone_id: Generated<string | null>;
    capture_cents: Generated<number | null>;
    version: number;
    created_at: Timestamp;
    updated_at: Timestamp;
  };
}
