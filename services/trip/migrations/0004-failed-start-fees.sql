-- Extension fees of reservations whose trip failed to start (issue 14): waived when the failure was
-- ours, charged alone when it was the rider's (ADR 0028). The sweep looks for converted holds
-- still owing their fee, and the trips started from them.

CREATE INDEX reservations_fee_owed_converted ON reservations (ended_at) WHERE extension_fee_status = 'owed' AND status = 'converted';
CREATE INDEX trips_reservation ON trips (reservation_id) WHERE reservation_id IS NOT NULL;
