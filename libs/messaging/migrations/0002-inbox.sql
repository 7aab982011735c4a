-- Events a consumer group has handled; inserted in the handler's own transaction, so a
-- redelivered event finds its row and is skipped.
create table inbox (
  consumer_group text not null,
  event_id uuid not null,
  event_type text not null,
  handled_at timestamptz not null default now(),
  primary key (consumer_group, event_id)
);

create index inbox_handled_at on inbox (handled_at);
