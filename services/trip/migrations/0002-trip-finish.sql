-- Finishing, pausing and listing trips.

-- The finish saga that drives this trip's end: a retried finish joins it instead of starting another.
ALTER TABLE trips ADD COLUMN finish_saga_id uuid;
-- What the finish measured: metres from the car's telemetry, the zone it ended in.
ALTER TABLE trips ADD COLUMN distance_m double precision;
ALTER TABLE trips ADD COLUMN end_zone_id text;
-- The amount to capture, fixed when the trip is priced; the capture retry asks for exactly this.
ALTER TABLE trips ADD COLUMN capture_cents integer;

-- The operator list filters by car; by rider and status already have their indexes.
CREATE INDEX trips_car ON trips (car_id, id DESC);
-- Captures still waiting: the retry sweep reads only these.
CREATE INDEX trips_payment_pending ON trips (finished_at) WHERE payment_status = 'pending';
