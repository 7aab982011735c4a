-- Email ownership: accounts start unverified; staff accounts made by the CLI and existing rows
-- (made before verification existed, by operators or seed) count as verified.
ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;
UPDATE users SET email_verified = true;

-- Single-use tokens from verification and reset mails, stored only as their SHA-256.
CREATE TABLE mail_tokens (
  token_hash text PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id),
  purpose text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
  email text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
CREATE INDEX mail_tokens_user_idx ON mail_tokens (user_id, purpose);

-- Mail the service has to send, written in the transaction of the change that calls for it:
-- with SMTP_URL set a relay sends it and stamps sent_at; embedded, this table is the outbox the
-- operator reads (`carshare mail list`).
CREATE TABLE mail_outbox (
  id uuid PRIMARY KEY,
  recipient text NOT NULL,
  subject text NOT NULL,
  body text NOT NULL,
  created_at timestamptz NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  sent_at timestamptz,
  last_error text
);
CREATE INDEX mail_outbox_pending_idx ON mail_outbox (created_at) WHERE sent_at IS NULL;

-- Devices that logged in successfully (OWASP's device cookie), by the SHA-256 of their token.
CREATE TABLE known_devices (
  token_hash text PRIMARY KEY,
  device_id uuid NOT NULL UNIQUE,
  user_id uuid NOT NULL REFERENCES users (id),
  created_at timestamptz NOT NULL,
  last_used_at timestamptz NOT NULL
);
CREATE INDEX known_devices_user_idx ON known_devices (user_id);

-- Failed-attempt counts per throttling key (account, device, address, global): shared by every
-- instance, so a flood spread over instances meets one count. `failures` is the version that
-- makes each update a compare-and-set.
CREATE TABLE attempt_counts (
  key text PRIMARY KEY,
  failures integer NOT NULL,
  last_failure_at timestamptz NOT NULL
);
