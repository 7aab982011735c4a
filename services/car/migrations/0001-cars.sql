-- The car service's tables. Forward-only: a change is a new NNNN-description.sql file.
CREATE TABLE cars (
  id uuid PRIMARY KEY,
  plate text NOT NULL UNIQUE,
  vin text NOT NULL UNIQUE,
  model text NOT NULL,
  category text NOT NULL,
  seats integer NOT NULL CHECK (seats BETWEEN 1 AND 9),
  fuel_type text NOT NULL,
  home_zone text,
  -- The uniqueId a Traccar server knows the car's tracker by (Traccar forward ingest).
  tracker_id text UNIQUE,
  state text NOT NULL CHECK (state IN ('available', 'reserved', 'unlocking', 'in_use', 'locking', 'maintenance', 'offline')),
  -- The reservation (or trip) holding the car: set exactly while state is a rental state.
  reservation_id uuid,
  lat double precision,
  lng double precision,
  speed_kph double precision NOT NULL DEFAULT 0,
  heading_deg double precision NOT NULL DEFAULT 0,
  energy_pct double precision NOT NULL DEFAULT 100,
  odometer_km double precision NOT NULL DEFAULT 0,
  locked boolean NOT NULL DEFAULT true,
  -- Device time of the last accepted report (ordering, odometer) and our time of it (silence).
  last_report_at timestamptz,
  last_seen_at timestamptz,
  -- HMAC-SHA256 of the device secret under the service's pepper (see device-secrets.ts).
  secret_hash text NOT NULL,
  version integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  CHECK ((reservation_id IS NOT NULL) = (state IN ('reserved', 'unlocking', 'in_use', 'locking')))
);

-- Nearby: available cars inside a bounding box (then exact distance).
CREATE INDEX cars_available_position ON cars (lat, lng) WHERE state = 'available';
-- The sweeper: cars that have gone silent.
CREATE INDEX cars_last_seen ON cars (last_seen_at) WHERE state = 'available';

-- A bounded history per car (the sweeper prunes by age): a trip's distance comes from it.
CREATE TABLE telemetry (
  car_id uuid NOT NULL REFERENCES cars (id) ON DELETE CASCADE,
  ts timestamptz NOT NULL,
  lat double precision NOT NULL,
  lng double precision NOT NULL,
  speed_kph double precision NOT NULL,
  odometer_km double precision NOT NULL,
  energy_pct double precision NOT NULL,
  PRIMARY KEY (car_id, ts)
);
CREATE INDEX telemetry_ts ON telemetry (ts);

-- Lock/unlock commands sent to devices, matched with their acks by id.
CREATE TABLE commands (
  id uuid PRIMARY KEY,
  car_id uuid NOT NULL REFERENCES cars (id) ON DELETE CASCADE,
  type text NOT NULL CHECK (type IN ('lock', 'unlock')),
  reservation_id uuid,
  status text NOT NULL CHECK (status IN ('sent', 'acked', 'refused', 'expired')),
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL,
  settled_at timestamptz,
  error text
);
CREATE INDEX commands_pending ON commands (expires_at) WHERE status = 'sent';
