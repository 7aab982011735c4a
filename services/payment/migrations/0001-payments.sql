-- Forward-only: a change is a new NNNN-description.sql file.

-- Saved cards: the processor's token and what it says of the card, never a card number.
CREATE TABLE payment_methods (
  id uuid PRIMARY KEY,
  rider_id uuid NOT NULL,
  provider_token text NOT NULL,
  brand text NOT NULL,
  last4 text NOT NULL CHECK (last4 ~ '^[0-9]{4}$'),
  exp_month integer NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
  exp_year integer NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX payment_methods_rider ON payment_methods (rider_id, id DESC);

CREATE TABLE payments (
  id uuid PRIMARY KEY,
  rider_id uuid NOT NULL,
  -- One payment per thing paid for (a trip): the unique key that makes Authorize idempotent.
  reference text NOT NULL UNIQUE,
  currency char(3) NOT NULL,
  payment_method_id uuid NOT NULL,
  status text NOT NULL CHECK (status IN ('authorized', 'capture_pending', 'captured', 'voided', 'partially_refunded', 'refunded')),
  authorized_cents bigint NOT NULL CHECK (authorized_cents > 0),
  capture_cents bigint CHECK (capture_cents > 0),
  captured_cents bigint NOT NULL DEFAULT 0 CHECK (captured_cents >= 0),
  refunded_cents bigint NOT NULL DEFAULT 0 CHECK (refunded_cents >= 0 AND refunded_cents <= captured_cents),
  provider_intent_id text NOT NULL,
  provider_extra_charge_id text,
  capture_key text,
  capture_attempts integer NOT NULL DEFAULT 0,
  next_capture_attempt_at timestamptz,
  last_error text,
  version integer NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX payments_rider ON payments (rider_id, id DESC);
CREATE INDEX payments_status ON payments (status, id DESC);
-- The retry worker's queue: only captures still waiting.
CREATE INDEX payments_due_captures ON payments (next_capture_attempt_at) WHERE status = 'capture_pending';

-- Who refunded what and why: the audit of every operator refund.
CREATE TABLE refunds (
  id uuid PRIMARY KEY,
  payment_id uuid NOT NULL REFERENCES payments (id),
  amount_cents bigint NOT NULL CHECK (amount_cents > 0),
  reason text NOT NULL,
  note text,
  operator_id uuid NOT NULL,
  provider_refund_id text NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX refunds_payment ON refunds (payment_id, created_at);

-- Double-entry ledger: append-only; every movement's lines sum to zero.
CREATE TABLE ledger_entries (
  movement_id uuid NOT NULL,
  line integer NOT NULL,
  payment_id uuid NOT NULL REFERENCES payments (id),
  kind text NOT NULL CHECK (kind IN ('authorize', 'capture', 'void', 'refund')),
  account text NOT NULL,
  amount_cents bigint NOT NULL,
  currency char(3) NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (movement_id, line)
);
CREATE INDEX ledger_entries_payment ON ledger_entries (payment_id);
CREATE INDEX ledger_entries_account ON ledger_entries (account);
