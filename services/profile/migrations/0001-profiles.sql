-- Driving-licence profiles, their audited review decisions and the OCR work queue.
-- Forward-only: a change is a new NNNN-description.sql file.

-- One profile per rider. `fields` holds the licence as typed (personal data: licence number,
-- birth date); `ocr` what the machine read of the current submission and the problems it found.
CREATE TABLE profiles (
  user_id uuid PRIMARY KEY,
  status text NOT NULL CHECK (status IN ('unsubmitted', 'pending', 'verified', 'rejected')),
  fields jsonb,
  photo_licence_front uuid,
  photo_licence_back uuid,
  photo_selfie uuid,
  submission_id uuid,
  submitted_at timestamptz,
  verified_at timestamptz,
  verified_by text CHECK (verified_by IN ('ocr', 'operator')),
  rejection jsonb,
  ocr jsonb NOT NULL,
  -- A copy of fields->>'expiresOn' for the expiry sweeper's index.
  expires_on date,
  -- The review queue shows pending profiles first.
  queue_rank smallint GENERATED ALWAYS AS (CASE WHEN status = 'pending' THEN 0 ELSE 1 END) STORED,
  updated_at timestamptz NOT NULL
);

-- The operators' queue: pending first, oldest submission first (keyset pages).
CREATE INDEX profiles_review_queue ON profiles (queue_rank, submitted_at, user_id) WHERE submitted_at IS NOT NULL;
-- The sweeper: verified profiles by licence expiry.
CREATE INDEX profiles_verified_expiry ON profiles (expires_on) WHERE status = 'verified';

-- Every decision on a profile: who (operator, rider or the system), when, what. Kept when the
-- profile is erased, and free of licence numbers and birth dates.
CREATE TABLE review_audit (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL,
  action text NOT NULL,
  actor_id uuid,
  actor_kind text NOT NULL CHECK (actor_kind IN ('rider', 'operator', 'system')),
  detail jsonb NOT NULL,
  at timestamptz NOT NULL
);
CREATE INDEX review_audit_user ON review_audit (user_id, id);

-- Submissions waiting for the OCR worker; a failed read waits for `next_attempt_at`.
CREATE TABLE ocr_jobs (
  submission_id uuid PRIMARY KEY,
  user_id uuid NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX ocr_jobs_due ON ocr_jobs (next_attempt_at);
