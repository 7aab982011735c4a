-- Reservations and trips. Forward-only: a change is a new NNNN-description.sql file.

-- A rider's hold on a car. The car service is the authority on who holds a car (Claim); this
-- table is the rider's side of it: one active reservation per rider.
CREATE TABLE reservations (
  id uuid PRIMARY KEY,
  rider_id uuid NOT NULL,
  car_id uuid NOT NULL,
  status text NOT NULL CHECK (status IN ('active', 'converted', 'cancelled', 'expired')),
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  ended_at timestamptz
);

-- One active reservation per rider: two concurrent Reserves cannot both insert.
CREATE UNIQUE INDEX reservations_one_active_per_rider ON reservations (rider_id) WHERE status = 'active';
-- The expiry sweeper reads active holds by deadline.
CREATE INDEX reservations_active_by_expiry ON reservations (expires_at) WHERE status = 'active';
CREATE INDEX reservations_rider ON reservations (rider_id, id DESC);

-- The source of truth of a trip: every change is an appended event, numbered per trip. The
-- primary key refuses two writers appending the same number (optimistic concurrency).
CREATE TABLE trip_events (
  trip_id uuid NOT NULL,
  seq integer NOT NULL CHECK (seq >= 1),
  type text NOT NULL,
  data jsonb NOT NULL,
  at timestamptz NOT NULL,
  PRIMARY KEY (trip_id, seq)
);

-- The current state of every trip, projected from trip_events in the same transaction as the
-- append; `version` is the seq of the last event applied. Rebuildable from the log.
CREATE TABLE trips (
  id uuid PRIMARY KEY,
  rider_id uuid NOT NULL,
  car_id uuid NOT NULL,
  reservation_id uuid,
  status text NOT NULL CHECK (status IN ('starting', 'in_progress', 'paused', 'finishing', 'finished', 'failed')),
  category text NOT NULL,
  -- The tariff the trip started with, whole: a later table change never reprices it.
  tariff jsonb NOT NULL,
  deposit_cents integer NOT NULL,
  payment_id uuid,
  payment_status text CHECK (payment_status IN ('pending', 'captured', 'failed')),
  failure_reason text,
  started_at timestamptz,
  paused_ms bigint NOT NULL DEFAULT 0,
  paused_since timestamptz,
  finished_at timestamptz,
  -- The priced breakdown (receipt) once finished.
  price jsonb,
  version integer NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);

-- One live trip per rider and per car.
CREATE UNIQUE INDEX trips_one_live_per_rider ON trips (rider_id) WHERE status IN ('starting', 'in_progress', 'paused', 'finishing');
CREATE UNIQUE INDEX trips_one_live_per_car ON trips (car_id) WHERE status IN ('starting', 'in_progress', 'paused', 'finishing');
-- A rider's trips and the operator list, newest first (UUIDv7 ids sort by creation).
CREATE INDEX trips_rider ON trips (rider_id, id DESC);
CREATE INDEX trips_status ON trips (status, id DESC);
