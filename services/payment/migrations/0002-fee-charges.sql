-- Fees charged on their own (issue 14): a reservation's extension fee when no trip carries it.
-- One row per thing charged for (its reference, also the reference of its payment). A charge the
-- card or the processor refused stays `failed` for an operator, who retries it or waives it with a
-- reason; who waived what and why is kept here, the audit of every waiver.
CREATE TABLE fee_charges (
  id uuid PRIMARY KEY,
  reference text NOT NULL UNIQUE,
  rider_id uuid NOT NULL,
  amount_cents bigint NOT NULL CHECK (amount_cents > 0),
  currency char(3) NOT NULL,
  description text NOT NULL,
  status text NOT NULL CHECK (status IN ('charging', 'charged', 'failed', 'waived')),
  -- Attempts started; the n-th asks the processor under a key of its own, every repeat of it the same.
  attempts integer NOT NULL CHECK (attempts >= 1),
  last_error text,
  payment_id uuid,
  waived_by uuid,
  waive_reason text,
  waived_at timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  CHECK (status <> 'waived' OR (waived_by IS NOT NULL AND waive_reason IS NOT NULL AND waived_at IS NOT NULL))
);
-- The operators' list: by status, newest first, and a rider's.
CREATE INDEX fee_charges_status ON fee_charges (status, id DESC);
CREATE INDEX fee_charges_rider ON fee_charges (rider_id, id DESC);
