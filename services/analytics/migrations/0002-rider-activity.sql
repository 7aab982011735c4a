-- Search-to-reservation conversion (ADR 0026): every rider's search sessions (car.searched) and
-- reservations (reservation.created), so whichever of the two arrives first, the other finds it.
-- One row per event: a rebuild empties it with the views and replays it from the archive.
CREATE TABLE rider_activity (
  event_id uuid PRIMARY KEY,
  rider_id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('search', 'reservation')),
  at timestamptz NOT NULL
);
CREATE INDEX rider_activity_rider_at ON rider_activity (rider_id, at);
