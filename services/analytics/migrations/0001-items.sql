-- The analytics service's first table. Forward-only: a change is a new NNNN-description.sql file.
CREATE TABLE items (
  id uuid PRIMARY KEY,
  owner_id uuid NOT NULL,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  created_at timestamptz NOT NULL
);

-- Riders list their own items, newest first (UUIDv7 ids sort by creation).
CREATE INDEX items_owner_id ON items (owner_id, id DESC);
