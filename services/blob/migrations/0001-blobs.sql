-- Blob records; the bytes live in the object store (files or S3) under upload/<id> and object/<id>.
-- Forward-only: a change is a new NNNN-description.sql file.
CREATE TABLE blobs (
  id uuid PRIMARY KEY,
  owner_id uuid NOT NULL,
  purpose text NOT NULL CHECK (purpose IN ('licence_front', 'licence_back', 'selfie', 'avatar', 'damage_photo')),
  content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp', 'application/pdf')),
  declared_size_bytes integer NOT NULL CHECK (declared_size_bytes > 0),
  status text NOT NULL CHECK (status IN ('pending', 'uploaded')),
  size_bytes integer CHECK (size_bytes > 0),
  sha256 text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  created_at timestamptz NOT NULL,
  uploaded_at timestamptz,
  -- What an uploaded blob has, a pending one has not.
  CHECK ((status = 'uploaded') = (size_bytes IS NOT NULL AND sha256 IS NOT NULL AND uploaded_at IS NOT NULL))
);

-- Owners list their blobs newest first (UUIDv7 ids sort by creation).
CREATE INDEX blobs_owner_id ON blobs (owner_id, id DESC);
-- The sweeper finds pending blobs past their TTL, oldest first.
CREATE INDEX blobs_pending_created_at ON blobs (created_at) WHERE status = 'pending';
