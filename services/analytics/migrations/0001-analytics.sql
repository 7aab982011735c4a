-- The analytics read model. Forward-only: a change is a new NNNN-description.sql file.

-- Every event analytics consumed, append-only: the history every view is rebuilt from. The
-- primary key is the consumers' inbox too: a redelivered event finds its row and changes nothing.
-- `day` (UTC day it occurred) is the partition key: retention deletes whole days.
CREATE TABLE event_archive (
  event_id uuid PRIMARY KEY,
  day date NOT NULL,
  type text NOT NULL,
  version integer NOT NULL,
  occurred_at timestamptz NOT NULL,
  envelope jsonb NOT NULL,
  archived_at timestamptz NOT NULL
);
CREATE INDEX event_archive_day ON event_archive (day);

-- The materialised views: one row per figure, bucket size, bucket start, and dimension value
-- (dimension '' and key '' hold the total). Counts and sums only ever add up, so an event that
-- arrives late lands in its own bucket and the order of arrival cannot change a number.
CREATE TABLE stat_buckets (
  metric text NOT NULL,
  bucket text NOT NULL CHECK (bucket IN ('hour', 'day')),
  bucket_start timestamptz NOT NULL,
  dimension text NOT NULL,
  key text NOT NULL,
  count bigint NOT NULL,
  sum bigint NOT NULL,
  PRIMARY KEY (metric, bucket, dimension, bucket_start, key)
);

-- Pairs of events (a trip's start and finish, a licence's submission and decision): the second
-- to arrive completes the span and adds its figures, whichever end it is.
CREATE TABLE stat_spans (
  kind text NOT NULL,
  id text NOT NULL,
  opened_at timestamptz,
  open_attrs jsonb NOT NULL DEFAULT '{}',
  closed_at timestamptz,
  close_attrs jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (kind, id)
);
