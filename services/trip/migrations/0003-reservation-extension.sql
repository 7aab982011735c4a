-- The one paid extension of a reservation's hold (issue 14). `expires_at` itself moves; these
-- say when it was bought, for how long and what it costs, and where its fee stands.

ALTER TABLE reservations ADD COLUMN extended_at timestamptz;
ALTER TABLE reservations ADD COLUMN extension_minutes integer;
ALTER TABLE reservations ADD COLUMN extension_fee_cents integer CHECK (extension_fee_cents >= 0);
ALTER TABLE reservations ADD COLUMN extension_currency text;
-- owed until the reservation ends; on_trip when a trip's receipt carries it; charged when
-- charged alone after a cancel or expiry (failed when the card refused it for good); waived when it cost nothing.
ALTER TABLE reservations ADD COLUMN extension_fee_status text CHECK (extension_fee_status IN ('owed', 'on_trip', 'charged', 'failed', 'waived'));

-- Ended holds whose fee is still to be charged alone: the sweep reads only these.
CREATE INDEX reservations_fee_owed ON reservations (ended_at) WHERE extension_fee_status = 'owed' AND status IN ('cancelled', 'expired');
