import type { ColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;

/** The car service's tables as kysely sees them (mirrors migrations/). */
export interface CarDatabase {
  cars: {
    id: string;
    plate: string;
    vin: string;
    model: string;
    category: string;
    seats: number;
    fuel_type: string;
    home_zone: string | null;
    tracker_id: string | null;
    state: string;
    reservation_id: string | null;
    lat: number | null;
    lng: number | null;
    speed_kph: number;
    heading_deg: number;
    energy_pct: number;
    odometer_km: number;
    locked: boolean;
    last_report_at: Timestamp | null;
    last_seen_at: Timestamp | null;
    secret_hash: string;
    version: number;
    created_at: Timestamp;
    updated_at: Timestamp;
  };
  telemetry: {
    car_id: string;
    ts: Timestamp;
    lat: number;
    lng: number;
    speed_kph: number;
    odometer_km: number;
    energy_pct: number;
  };
  commands: {
    id: string;
    car_id: string;
    type: string;
    reservation_id: string | null;
    status: string;
    expires_at: Timestamp;
    created_at: Timestamp;
    settled_at: Timestamp | null;
    error: string | null;
  };
}
