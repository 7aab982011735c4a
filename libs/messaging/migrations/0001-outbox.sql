-- Events waiting to leave the service, written in the same transaction as the state change.
-- seq gives the publish order; a relay claims rows for a while (claimed_until) so several relays
-- can share the table without holding a transaction open while the broker confirms.
create table outbox (
  seq bigint generated always as identity primary key,
  event_id uuid not null unique,
  event_type text not null,
  subject text not null,
  occurred_at timestamptz not null,
  envelope jsonb not null,
  created_at timestamptz not null default now(),
  claimed_by text,
  claimed_until timestamptz,
  sent_at timestamptz
);

create index outbox_unsent on outbox (seq) where sent_at is null;
create index outbox_unsent_subject on outbox (subject, seq) where sent_at is null;
create index outbox_sent_at on outbox (sent_at) where sent_at is not null;
